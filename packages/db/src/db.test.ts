import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { createDatabase } from "./client";
import { databaseSuite } from "./db-suite";
import { migrations } from "./migrations.gen";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";

databaseSuite("PGlite", () => createDatabase({ dataDir: "memory://" }));

const dir = mkdtempSync(join(tmpdir(), "repensar-db-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("keeps data and epoch across restarts in its data directory", async () => {
  const first = await createDatabase({ dataDir: dir });
  await first.db.execute(`insert into organizations (name) values ('kept')`);
  const epoch = first.epoch;
  await first.close();
  const second = await createDatabase({ dataDir: dir });
  const rows = await second.rows<{ name: string }>(
    (await import("drizzle-orm")).sql`select name from organizations`,
  );
  expect(rows.map((r) => r.name)).toEqual(["kept"]);
  expect(second.epoch).toBe(epoch);
  await second.close();
});

it("embeds exactly the committed migration files (run `pnpm db:generate` after a schema change)", () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const journal = JSON.parse(readFileSync(`${root}/drizzle/meta/_journal.json`, "utf8")) as { entries: { tag: string }[] };
  expect(migrations.map((m) => m.tag)).toEqual(journal.entries.map((e) => e.tag));
  for (const m of migrations) {
    const text = readFileSync(`${root}/drizzle/${m.tag}.sql`, "utf8");
    expect(m.hash).toBe(createHash("sha256").update(text).digest("hex"));
  }
});
