// Builds what the field app at /app loads outside Next's bundles: its store worker (the sync
// client's engine over SQLite WASM in OPFS) and SQLite's WebAssembly, into public/app/.
import { copyFile, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const dir = fileURLToPath(new URL("..", import.meta.url));
const out = `${dir}public/app`;
await mkdir(out, { recursive: true });
await build({
  entryPoints: [`${dir}lib/field/store-worker.ts`],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "chrome111",
  minify: true,
  outfile: `${out}/store-worker.js`,
  logLevel: "warning",
});
const fromClient = createRequire(fileURLToPath(import.meta.resolve("@repensar/sync-client/browser/worker")));
await copyFile(fromClient.resolve("@sqlite.org/sqlite-wasm/sqlite3.wasm"), `${out}/sqlite3.wasm`);
