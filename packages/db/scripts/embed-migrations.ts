// Writes src/migrations.gen.ts from drizzle/: the SQL of every committed migration,
// embedded so the server finds its migrations however it is bundled.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderEmbeddedMigrations } from "../src/migrations";

const root = fileURLToPath(new URL("..", import.meta.url));
const journal = JSON.parse(readFileSync(`${root}/drizzle/meta/_journal.json`, "utf8")) as {
  entries: { tag: string; when: number }[];
};
const migrations = journal.entries.map((entry) => {
  const sqlText = readFileSync(`${root}/drizzle/${entry.tag}.sql`, "utf8");
  return { tag: entry.tag, when: entry.when, hash: createHash("sha256").update(sqlText).digest("hex"), sql: sqlText };
});
writeFileSync(`${root}/src/migrations.gen.ts`, renderEmbeddedMigrations(migrations));
console.log(`embedded ${migrations.length} migration(s)`);
