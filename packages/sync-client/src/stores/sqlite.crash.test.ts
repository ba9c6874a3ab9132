import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteStore } from "./sqlite";

const writer = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "sync-client-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Kill = { from: "outside"; afterWrites: number } | { from: "inside"; afterStatements: number };

/**
 * Runs the writer until it is killed: from outside once it has reported some committed writes
 * (where the kill lands is up to the scheduler), or by itself right after some SQL statement
 * (always inside a transaction, between a row and its outbox entry or just after both).
 */
async function writeAndKill(path: string, kill: Kill): Promise<{ live: Set<string>; gone: Set<string> }> {
  const args = ["--import", "tsx", writer, path, ...(kill.from === "inside" ? [String(kill.afterStatements)] : [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
  const live = new Set<string>();
  const gone = new Set<string>();
  let seen = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    const [what, id] = line.split(" ");
    if (!id) continue;
    if (what === "deleting") {
      // Until "deleted" is reported, the delete may or may not have committed.
      live.delete(id);
    } else if (what === "deleted") {
      gone.add(id);
    } else {
      live.add(id);
    }
    // Kill once, then read on to the end: what the writer reported before it died still counts.
    if (what !== "deleting" && kill.from === "outside" && ++seen === kill.afterWrites) child.kill("SIGKILL");
  }
  expect(await exited).toBe("SIGKILL");
  return { live, gone };
}

describe("sqlite store killed mid-write", () => {
  const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
  const insideStart = random(2, 40);
  const kills: Kill[] = [
    { from: "outside", afterWrites: random(20, 300) },
    { from: "outside", afterWrites: random(20, 300) },
    // The writer repeats a cycle of 14 statements (3 creates, 3 updates, 1 delete, 2 each);
    // 14 consecutive kill points from a random start land on every place in that cycle.
    // Statement 1 is inside the schema's creation, before any write.
    { from: "inside", afterStatements: 1 },
    ...Array.from({ length: 14 }, (_, i): Kill => ({ from: "inside", afterStatements: insideStart + i })),
  ];
  for (const [round, kill] of kills.entries()) {
    const when = kill.from === "outside" ? `after ${kill.afterWrites} reported writes` : `by itself after statement ${kill.afterStatements}`;
    it(`killed ${when}: the file is intact and every row has its outbox entry`, async () => {
      const path = join(dir, `crash-${round}.db`);
      const { live, gone } = await writeAndKill(path, kill);

      const db = new Database(path);
      try {
        expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
        // Killed before its schema committed, the store left no tables at all: nothing half-made.
        const tables = new Set(db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((t) => t.name));
        expect(tables.has("volunteers")).toBe(tables.has("outbox"));
        const rows = tables.has("volunteers") ? db.prepare<[], { id: string; _pending: number }>("SELECT id, _pending FROM volunteers").all() : [];
        const outbox = tables.has("outbox")
          ? db.prepare<[], { entity_id: string; operation: string }>("SELECT entity_id, operation FROM outbox").all()
          : [];
        // Never pushed: a live row has exactly one CREATE, a deleted one nothing at all.
        expect(outbox.every((entry) => entry.operation === "CREATE")).toBe(true);
        expect(new Set(outbox.map((entry) => entry.entity_id)).size).toBe(outbox.length);
        expect(new Set(outbox.map((entry) => entry.entity_id))).toEqual(new Set(rows.map((row) => row.id)));
        expect(rows.every((row) => row._pending === 1)).toBe(true);
        // Whatever the writer reported as committed survived the kill.
        for (const id of live) expect(rows.some((row) => row.id === id)).toBe(true);
        for (const id of gone) expect(rows.some((row) => row.id === id)).toBe(false);
      } finally {
        db.close();
      }

      // And the store opens and keeps working on that file.
      const store = createSqliteStore(path);
      const before = await store.pendingCount();
      await store.create("volunteer", { name: "after the crash" });
      expect(await store.pendingCount()).toBe(before + 1);
      await store.close();
    });
  }
});
