import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { entityDefinitions } from "@repensar/contracts";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteStore, OUTBOX_HEADS_SQL } from "./sqlite";
import { localStoreSuite } from "./store-suite";

const dir = mkdtempSync(join(tmpdir(), "sync-client-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const nextFile = () => join(dir, `store-${++files}.db`);

localStoreSuite("sqlite (in memory)", () => createSqliteStore(":memory:"));
localStoreSuite("sqlite (file)", () => createSqliteStore(nextFile()));

describe("sqlite file", () => {
  it("keeps rows, the outbox, the cursor and meta across reopening", async () => {
    const path = nextFile();
    const first = createSqliteStore(path);
    const row = await first.create("volunteer", { name: "Ana", skills: ["cooking"] });
    await first.applyServerChanges(
      [{ entity_type: "project", entity_id: "p1", operation: "CREATE", version: 2, data: { name: "Garden" } }],
      "cursor-1",
    );
    await first.setMeta("device_id", "d-1");
    const pending = await first.pendingChanges();
    await first.close();

    const second = createSqliteStore(path);
    expect(await second.get("volunteer", row.id)).toEqual(row);
    expect(await second.pendingChanges()).toEqual(pending);
    expect(await second.getCursor()).toBe("cursor-1");
    expect(await second.getMeta("device_id")).toBe("d-1");
    expect((await second.get("project", "p1"))?.version).toBe(2);
    await second.close();
  });

  it("uses WAL and lays tables out from the entity definitions", async () => {
    const path = nextFile();
    await createSqliteStore(path).close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      const columns = db.prepare<[], { name: string; type: string }>("SELECT name, type FROM pragma_table_info('time_entries')").all();
      expect(columns).toEqual(
        expect.arrayContaining([
          { name: "id", type: "TEXT" },
          { name: "volunteer_id", type: "TEXT" },
          { name: "date", type: "TEXT" },
          { name: "hours", type: "REAL" },
          { name: "version", type: "INTEGER" },
          { name: "deleted_at", type: "TEXT" },
        ]),
      );
      const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(["meta", "outbox", ...Object.values(entityDefinitions).map((def) => def.table)]),
      );
    } finally {
      db.close();
    }
  });

  it("adds a column for a field the file does not have yet", async () => {
    const path = nextFile();
    const old = new Database(path);
    old.exec(`CREATE TABLE volunteers (id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deleted_at TEXT, _pending INTEGER NOT NULL DEFAULT 0,
      _base TEXT, _server TEXT, name TEXT)`);
    old.close();
    const store = createSqliteStore(path);
    const row = await store.create("volunteer", { name: "A", phone: "123" });
    expect((await store.get("volunteer", row.id))?.data.phone).toBe("123");
    await store.close();
  });

  it("reads a push batch from a 50,000-entry outbox through the index, in outbox order, without a sort", async () => {
    const path = nextFile();
    await createSqliteStore(path).close();
    const db = new Database(path);
    try {
      const insert = db.prepare<[string, string], void>(
        `INSERT INTO outbox (change_id, entity_type, entity_id, operation, data, version, modified_at) VALUES (?, 'volunteer', ?, 'UPDATE', '{}', 1, '2025-01-01')`,
      );
      db.transaction(() => {
        for (let i = 0; i < 50_000; i++) insert.run(`c${i}`, `v${i}`);
        // Edits queued behind sent entries: not heads.
        for (let i = 0; i < 5_000; i++) insert.run(`q${i}`, `v${i * 7}`);
      })();
      const plan = db.prepare<[number], { detail: string }>(`EXPLAIN QUERY PLAN ${OUTBOX_HEADS_SQL}`).all(1000).map((row) => row.detail);
      // One walk of the outbox in rowid order (no temporary b-tree for ORDER BY), one index probe per entry.
      expect(plan[0]).toBe("SCAN o");
      expect(plan.filter((step) => step.includes("TEMP B-TREE"))).toEqual([]);
      expect(plan).toContain("SEARCH i USING COVERING INDEX outbox_row (entity_type=? AND entity_id=? AND seq<?)");
      const batch = db.prepare<[number], { change_id: string }>(OUTBOX_HEADS_SQL).all(1000);
      expect(batch.map((row) => row.change_id)).toEqual(Array.from({ length: 1000 }, (_, i) => `c${i}`));
      expect(db.prepare<[number], { change_id: string }>(OUTBOX_HEADS_SQL).all(100_000)).toHaveLength(50_000);
    } finally {
      db.close();
    }
  });
});
