import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { entityDefinitions } from "@repensar/contracts/entities";
import { generateDrizzleJson, generateMigration, type DrizzleSnapshotJSON } from "drizzle-kit/api";
import { getTableName } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "./schema";
import { entityTableOf } from "./schema/entities";

/** The last committed migration's snapshot: what the committed migrations build. */
function committedSnapshot(): DrizzleSnapshotJSON {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const journal = JSON.parse(readFileSync(`${root}/drizzle/meta/_journal.json`, "utf8")) as { entries: { idx: number }[] };
  const last = journal.entries.at(-1);
  expect(last, "drizzle/meta/_journal.json lists no migration").toBeDefined();
  const index = String(last?.idx ?? 0).padStart(4, "0");
  return JSON.parse(readFileSync(`${root}/drizzle/meta/${index}_snapshot.json`, "utf8")) as DrizzleSnapshotJSON;
}

/** What `db:generate` would write for `tables` on top of the committed migrations. */
async function uncommitted(tables: Record<string, unknown>): Promise<string[]> {
  const committed = committedSnapshot();
  // A renamed or dropped column makes drizzle-kit ask what was meant; with no TTY that throws
  // ("Interactive prompts require a TTY"), which fails the check too: answer it in `db:generate`.
  return generateMigration(committed, generateDrizzleJson(tables, committed.id));
}

describe("migration drift", () => {
  // A schema change without its migration typechecks and passes every test on a fresh database built
  // from the schema's own migrations, yet the server's tables then lack the column and every push naming
  // it fails. drizzle-kit's own diff (what `db:generate` would write) against the last committed snapshot
  // catches it without a database.
  it("has a committed migration for every change to the drizzle schema (else run `pnpm db:generate --name …`)", async () => {
    expect(await uncommitted(schema)).toEqual([]);
  });

  it("fails for a definition changed without its migration: a field added, a limit tightened", async () => {
    const volunteer = entityDefinitions.volunteer;
    const changed = entityTableOf({
      ...volunteer,
      fields: { ...volunteer.fields, birth_date: { kind: "date" }, name: { ...volunteer.fields.name, maxLength: 100 } },
    });
    const statements = await uncommitted({ ...schema, volunteers: changed });
    expect(statements.join("\n")).toContain(`ADD COLUMN "birth_date" date`);
    expect(statements.join("\n")).toMatch(/volunteers_name_max_length[\s\S]*<= 100/);
  });

  // The drift check above sees what drizzle-kit sees: the schema module's top-level exports. A table
  // built for a new entity definition but not exported would be invisible to both, and missing at runtime.
  it("exports every entity definition's table where drizzle-kit looks for tables", () => {
    const exported = new Set<unknown>(Object.values(schema));
    const missing = Object.values(schema.entityTables).filter((table) => !exported.has(table));
    expect(missing.map((table) => getTableName(table)), "export these from src/schema/entities.ts").toEqual([]);
  });
});
