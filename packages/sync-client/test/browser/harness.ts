import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, isAbsolute, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

const here = fileURLToPath(new URL(".", import.meta.url));
const wasmFile = fileURLToPath(import.meta.resolve("@sqlite.org/sqlite-wasm/sqlite3.wasm"));

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/**
 * Bundles browser entry points (module workers and pages; paths relative to this directory or absolute) into a fresh directory beside SQLite's
 * WebAssembly, which the bundles load from their own URL. `vitest` resolves to a small shim so a
 * shared suite can run in a worker.
 */
export async function bundle(entries: Record<string, string>): Promise<{ dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "sync-client-browser-"));
  await build({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, path]) => [name, isAbsolute(path) ? path : join(here, path)])),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome120",
    outdir: dir,
    alias: { vitest: join(here, "vitest-shim.mjs") },
    logLevel: "warning",
  });
  await import("node:fs/promises").then((fs) => fs.copyFile(wasmFile, join(dir, "sqlite3.wasm")));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
};

/** Serves `dir` on loopback; `/` is a blank page the tests start workers from. */
export async function serve(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === "/") {
      res.writeHead(200, { "content-type": types[".html"] });
      res.end("<!doctype html><title>store</title>");
      return;
    }
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
