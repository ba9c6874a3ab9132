// Bundles the CLI into one file; native and heavyweight dependencies stay external.
import { chmodSync } from "node:fs";
import { build } from "esbuild";

const outfile = "dist/repensar-sync.js";
await build({
  entryPoints: ["src/bin.ts"],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["better-sqlite3"],
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: "warning",
});
chmodSync(outfile, 0o755);
console.log(`built ${outfile}`);
