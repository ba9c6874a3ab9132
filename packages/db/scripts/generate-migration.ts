// `pnpm db:generate --name add_x` appends its arguments to the script's command line. With two
// commands chained by `&&`, they reached the second one and drizzle-kit never saw `--name`, so
// migrations got random names. This script hands every argument to drizzle-kit, then embeds the
// migrations as `db:embed` does. CHECK constraints it adds to existing tables become NOT VALID.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checksAddedNotValid } from "../src/not-valid";

const root = fileURLToPath(new URL("..", import.meta.url));
// The package's exports do not include its bin, so it is found beside the main entry.
const drizzleKit = join(dirname(createRequire(import.meta.url).resolve("drizzle-kit")), "bin.cjs");

function run(args: readonly string[]): void {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** The newest migration's file, as drizzle-kit's journal names it. */
function newestMigration(): string | undefined {
  const journal = JSON.parse(readFileSync(join(root, "drizzle/meta/_journal.json"), "utf8")) as { entries: { tag: string }[] };
  const tag = journal.entries.at(-1)?.tag;
  return tag === undefined ? undefined : join(root, "drizzle", `${tag}.sql`);
}

const before = newestMigration();
run([drizzleKit, "generate", ...process.argv.slice(2)]);
const written = newestMigration();
if (written !== undefined && written !== before) {
  // drizzle-kit does not add CHECK constraints NOT VALID; old rows must not block the migration.
  writeFileSync(written, checksAddedNotValid(readFileSync(written, "utf8")));
}
// Imported only now: it reads drizzle/ when it loads, which must include the new migration.
await import("./embed-migrations");
