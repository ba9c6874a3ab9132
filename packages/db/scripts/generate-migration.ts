// `pnpm db:generate --name add_x` appends its arguments to the script's command line. With two
// commands chained by `&&`, they reached the second one and drizzle-kit never saw `--name`, so
// migrations got random names. This script hands every argument to drizzle-kit, then embeds the
// migrations as `db:embed` does.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
// The package's exports do not include its bin, so it is found beside the main entry.
const drizzleKit = join(dirname(createRequire(import.meta.url).resolve("drizzle-kit")), "bin.cjs");

function run(args: readonly string[]): void {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run([drizzleKit, "generate", ...process.argv.slice(2)]);
// Imported only now: it reads drizzle/ when it loads, which must include the new migration.
await import("./embed-migrations");
