/**
 * `pnpm bench` for the browser store: an initial sync of 50,000 volunteers from a stub server into
 * the browser LocalStore (SQLite WASM in OPFS, headless Chromium), against the Node SQLite store
 * (better-sqlite3) doing the same sync in the same run. Both run the same SyncManager, engine and
 * SQL; the ratio is what the browser costs. Two browser shapes:
 *
 *   page     the field app's: SyncManager on the page, the store in its worker, every call a message
 *   worker   SyncManager and the store in one dedicated worker (the messages' share, by difference)
 *
 * Also the time to open the store (load the WebAssembly, take the OPFS pool, open and migrate).
 * Skipped, saying so, where Debian's chromium is not installed.
 *
 *   pnpm bench                    50,000 rows
 *   BENCH_ROWS=10000 pnpm bench   fewer
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { createSqliteStore } from "../src/stores/sqlite";
import { bundle, hasChromium, launchChromium, serve } from "../test/browser/harness";
import { initialSync } from "./browser/initial-sync";
import { benchRows } from "./env";

const ROWS = benchRows(50_000);

interface BrowserResult {
  readonly openMs: number;
  readonly clientMs: number;
  readonly pulled: number;
}

class BenchError extends Error {}

async function inBrowser(browser: Browser, url: string, mode: "page" | "worker"): Promise<BrowserResult> {
  // A fresh context: an empty OPFS.
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.addScriptTag({ url: "/sync.page.js", type: "module" });
    await page.waitForFunction(() => typeof window.benchOnPage === "function");
    const result = await page.evaluate(
      ([rows, where]) => (where === "page" ? window.benchOnPage(rows) : window.benchInWorker(rows)),
      [ROWS, mode] as const,
    );
    if (result.pulled !== ROWS) throw new BenchError(`the browser (${mode}) pulled ${result.pulled} of ${ROWS}`);
    return result;
  } finally {
    await context.close();
  }
}

async function inNode(dir: string): Promise<BrowserResult> {
  const opening = performance.now();
  const store = createSqliteStore(join(dir, "node.db"));
  const openMs = performance.now() - opening;
  const timing = await initialSync(store, ROWS);
  await store.close();
  if (timing.pulled !== ROWS) throw new BenchError(`node pulled ${timing.pulled} of ${ROWS}`);
  return { openMs, ...timing };
}

async function main(): Promise<void> {
  if (!hasChromium) {
    console.log("browser bench: skipped (no /usr/bin/chromium)");
    return;
  }
  const here = fileURLToPath(new URL("./browser/", import.meta.url));
  const built = await bundle({ "sync.page": join(here, "sync.page.ts"), "sync.worker": join(here, "sync.worker.ts") });
  const site = await serve(built.dir);
  const browser = await launchChromium();
  const dir = mkdtempSync(join(tmpdir(), "browser-bench-"));
  try {
    const node = await inNode(dir);
    const page = await inBrowser(browser, site.url, "page");
    const worker = await inBrowser(browser, site.url, "worker");
    const rate = (r: BrowserResult) => Math.round((ROWS / r.clientMs) * 1000);
    const round = (value: number) => Math.round(value * 100) / 100;
    console.log(`\nbrowser bench: initial sync of ${ROWS} volunteers, stub server, pages of 1000\n`);
    console.table(
      [
        { store: "node sqlite (better-sqlite3)", r: node },
        { store: "browser, SyncManager on the page", r: page },
        { store: "browser, all in the worker", r: worker },
      ].map(({ store, r }) => ({
        store,
        "rows/s": rate(r),
        "ratio to node": round(r.clientMs / node.clientMs),
        "open (ms)": Math.round(r.openMs),
      })),
    );
    console.log(
      JSON.stringify({
        bench: "browser-initial-sync",
        rows: ROWS,
        node_rows_per_s: rate(node),
        browser_page_rows_per_s: rate(page),
        browser_worker_rows_per_s: rate(worker),
        ratio_page_to_node: round(page.clientMs / node.clientMs),
        ratio_worker_to_node: round(worker.clientMs / node.clientMs),
        open_ms: { node: Math.round(node.openMs), browser_page: Math.round(page.openMs), browser_worker: Math.round(worker.openMs) },
      }),
    );
  } finally {
    await browser.close();
    await site.close();
    built.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
