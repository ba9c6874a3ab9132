/**
 * `pnpm bench:pull`: the client's share of an initial sync. A stub server answers `/sync/pull`
 * with pages of 1000 volunteers as the real one renders them; SyncManager pulls every page into a
 * fresh SQLite store (parse, contract check, one transaction per page with its cursor). Reported
 * against raw better-sqlite3 upserting the same rows in the same pages, in the same run, with the
 * scaling ratio between two sizes (linear: per-row cost flat) and the process's peak RSS.
 *
 *   pnpm bench:pull                    100,000 rows, and 20,000 for the scaling ratio
 *   BENCH_ROWS=50000 pnpm bench:pull   another size
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createApiClient } from "../src/api/client";
import { createSqliteStore } from "../src/stores/sqlite";
import { SyncManager } from "../src/sync-manager";
import { createMemoryTokenStore } from "../src/tokens/token-store";
import { benchRows } from "./env";
import { PAGE, renderPage, STUB_WRITTEN_AT, stubFetch } from "./pull-stub";
import { volunteerData } from "./volunteer";

const ROWS = benchRows(100_000);
const SMALL = Math.max(1000, Math.floor(ROWS / 5));

class BenchError extends Error {}

const at = STUB_WRITTEN_AT;

async function clientSync(rows: number, dir: string): Promise<{ clientMs: number; rssGrowthMb: number }> {
  const spent = { ms: 0 };
  const tokens = createMemoryTokenStore({ access_token: "stub", refresh_token: "stub", expires_at: null });
  const api = createApiClient({ baseUrl: "http://stub.invalid", tokens, fetch: stubFetch(rows, spent) });
  const store = createSqliteStore(join(dir, `pull-${rows}-${randomUUID()}.db`));
  const manager = new SyncManager({
    api,
    store,
    tokens,
    device: { device_id: randomUUID(), device_name: "bench", device_type: "desktop", platform: "linux" },
    pullLimit: PAGE,
  });
  const before = process.memoryUsage().rss;
  let peak = before;
  manager.on("progress", () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  });
  const start = performance.now();
  const summary = await manager.sync();
  const totalMs = performance.now() - start;
  await store.close();
  if (summary.pulled !== rows) throw new BenchError(`pulled ${summary.pulled} of ${rows}`);
  return { clientMs: totalMs - spent.ms, rssGrowthMb: (peak - before) / 2 ** 20 };
}

/** The same rows upserted raw, page by page, each page with its cursor in one transaction; parse included. */
async function rawSync(rows: number, dir: string): Promise<number> {
  const path = join(dir, `raw-${rows}-${randomUUID()}.db`);
  await createSqliteStore(path).close();
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  const columns = ["id", "version", "created_at", "updated_at", "deleted_at", "_pending", "_base", "_server", "name", "email", "phone", "skills", "status", "notes"];
  const upsert = db.prepare(`INSERT OR REPLACE INTO volunteers (${columns.join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})`);
  const cursor = db.prepare(`INSERT INTO meta (key, value) VALUES ('sync.cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  const applyPage = db.transaction((text: string) => {
    const page: unknown = JSON.parse(text);
    if (typeof page !== "object" || page === null || !("changes" in page) || !Array.isArray(page.changes) || !("sync_token" in page)) {
      throw new BenchError("a page without changes");
    }
    for (const change of page.changes) {
      if (typeof change !== "object" || change === null || !("entity_id" in change)) throw new BenchError("a change without an id");
      const i = Number(String(change.entity_id).slice(-12));
      const data = volunteerData(i);
      const base = JSON.stringify({ version: 1, data, deleted_at: null, updated_at: at });
      upsert.run({ id: change.entity_id, version: 1, created_at: at, updated_at: at, deleted_at: null, _pending: 0, _base: base, _server: null, ...data, skills: JSON.stringify(data.skills) });
    }
    cursor.run(String(page.sync_token));
  });
  let renderMs = 0;
  const start = performance.now();
  for (let p = 0; p * PAGE < rows; p++) {
    const t = performance.now();
    const text = renderPage(rows, p);
    renderMs += performance.now() - t;
    applyPage.immediate(text);
  }
  const ms = performance.now() - start - renderMs;
  db.close();
  return ms;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "pull-bench-"));
  try {
    const small = await clientSync(SMALL, dir);
    const smallRaw = await rawSync(SMALL, dir);
    const large = await clientSync(ROWS, dir);
    const largeRaw = await rawSync(ROWS, dir);
    const round = (value: number) => Math.round(value * 100) / 100;
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    console.log(`\npull bench: initial sync into a fresh SQLite store, pages of ${PAGE}, stub server\n`);
    console.table(
      [
        { rows: SMALL, client: small, raw: smallRaw },
        { rows: ROWS, client: large, raw: largeRaw },
      ].map((r) => ({
        rows: r.rows,
        "ratio (client/raw)": round(r.client.clientMs / r.raw),
        "client rows/s": Math.round((r.rows / r.client.clientMs) * 1000),
        "raw rows/s": Math.round((r.rows / r.raw) * 1000),
        "RSS growth during sync (MB)": Math.round(r.client.rssGrowthMb),
      })),
    );
    const scaling = large.clientMs / ROWS / (small.clientMs / SMALL);
    console.log(
      JSON.stringify({
        bench: "pull",
        rows: ROWS,
        page: PAGE,
        ratio: round(large.clientMs / largeRaw),
        client_rows_per_s: Math.round((ROWS / large.clientMs) * 1000),
        per_row_scaling: round(scaling),
        rss_growth_mb: { [SMALL]: Math.round(small.rssGrowthMb), [ROWS]: Math.round(large.rssGrowthMb) },
        process_peak_rss_mb: Math.round(peakRssMb),
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
