/**
 * `pnpm bench` for the client: the SQLite LocalStore against raw better-sqlite3 doing the same
 * writes with the same pragmas, in the same run, reported as ratios (never as bare timings).
 *
 *   pnpm bench                     10,000 rows
 *   BENCH_ROWS=2000 pnpm bench     fewer
 *
 * Files live in a fresh temporary directory on the same disk as the OS temp dir, removed afterwards:
 * both sides fsync every commit (`synchronous = FULL`), so the disk sets the pace of single writes.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { ServerChange } from "../src/local-store";
import { createSqliteStore } from "../src/stores/sqlite";
import { benchRows } from "./env";

const ROWS = benchRows(10_000);
const PAGE = 1000;

class BenchError extends Error {}

const volunteerData = (i: number) => ({
  name: `Volunteer ${i}`,
  email: `volunteer${i}@example.org`,
  phone: "+351 912 345 678",
  skills: ["first aid", "driving"],
  status: "active",
  notes: "Available on weekends; prefers outdoor work and can drive the van to the collection points.",
});

/** A pulled CREATE, shaped as `/sync/pull` sends it. */
function pulledChange(i: number, at: string): ServerChange {
  const id = randomUUID();
  return {
    entity_type: "volunteer",
    entity_id: id,
    operation: "CREATE",
    data: { id, version: 1, created_at: at, updated_at: at, ...volunteerData(i) },
    version: 1,
    modified_at: at,
    modified_by_device_id: "other-device",
  };
}

/** A file with the store's schema, opened raw with the store's pragmas. */
async function openRaw(path: string): Promise<Database.Database> {
  await createSqliteStore(path).close();
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  return db;
}

const ROW_COLUMNS = ["id", "version", "created_at", "updated_at", "deleted_at", "_pending", "_base", "_server", "name", "email", "phone", "skills", "status", "notes"];
const upsertSql = `INSERT OR REPLACE INTO volunteers (${ROW_COLUMNS.join(", ")}) VALUES (${ROW_COLUMNS.map((c) => `@${c}`).join(", ")})`;

function rowRecord(id: string, i: number, at: string, version: number, base: string | null) {
  const d = volunteerData(i);
  return {
    id,
    version,
    created_at: at,
    updated_at: at,
    deleted_at: null,
    _pending: version === 0 ? 1 : 0,
    _base: base,
    _server: null,
    ...d,
    skills: JSON.stringify(d.skills),
  };
}

async function timed(run: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

async function benchCreates(dir: string): Promise<{ storeMs: number; rawMs: number }> {
  const store = createSqliteStore(join(dir, "creates-store.db"));
  const storeMs = await timed(async () => {
    for (let i = 0; i < ROWS; i++) await store.create("volunteer", volunteerData(i));
  });
  const pending = await store.pendingCount();
  await store.close();
  if (pending !== ROWS) throw new BenchError(`the outbox holds ${pending} of ${ROWS} creates`);

  const raw = await openRaw(join(dir, "creates-raw.db"));
  const upsert = raw.prepare(upsertSql);
  const outbox = raw.prepare(
    `INSERT INTO outbox (change_id, entity_type, entity_id, operation, data, version, modified_at) VALUES (?, 'volunteer', ?, 'CREATE', ?, 0, ?)`,
  );
  const createOne = raw.transaction((i: number) => {
    const id = randomUUID();
    const at = new Date().toISOString();
    upsert.run(rowRecord(id, i, at, 0, null));
    outbox.run(randomUUID(), id, JSON.stringify(volunteerData(i)), at);
  });
  const rawMs = await timed(() => {
    for (let i = 0; i < ROWS; i++) createOne.immediate(i);
  });
  raw.close();
  return { storeMs, rawMs };
}

async function benchApply(dir: string): Promise<{ storeMs: number; rawMs: number }> {
  const at = new Date().toISOString();
  const changes = Array.from({ length: ROWS }, (_, i) => pulledChange(i, at));
  const pages = Array.from({ length: Math.ceil(ROWS / PAGE) }, (_, p) => changes.slice(p * PAGE, (p + 1) * PAGE));

  const store = createSqliteStore(join(dir, "apply-store.db"));
  let applied = 0;
  const storeMs = await timed(async () => {
    for (const [p, page] of pages.entries()) applied += (await store.applyServerChanges(page, `cursor-${p}`)).applied;
  });
  await store.close();
  if (applied !== ROWS) throw new BenchError(`applyServerChanges applied ${applied} of ${ROWS} rows`);

  const raw = await openRaw(join(dir, "apply-raw.db"));
  const upsert = raw.prepare(upsertSql);
  const cursor = raw.prepare(`INSERT INTO meta (key, value) VALUES ('sync.cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  const applyPage = raw.transaction((page: readonly ServerChange[], token: string) => {
    for (const [i, change] of page.entries()) {
      const base = JSON.stringify({ version: change.version, data: volunteerData(i), deleted_at: null, updated_at: at });
      upsert.run(rowRecord(change.entity_id, i, at, change.version, base));
    }
    cursor.run(token);
  });
  const rawMs = await timed(() => {
    for (const [p, page] of pages.entries()) applyPage.immediate(page, `cursor-${p}`);
  });
  raw.close();
  return { storeMs, rawMs };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "store-bench-"));
  try {
    const creates = await benchCreates(dir);
    const apply = await benchApply(dir);
    const rows = [
      { label: `${ROWS} creates, one transaction each (row + outbox entry)`, ...creates },
      { label: `applyServerChanges, ${ROWS} rows in pages of ${PAGE}`, ...apply },
    ];
    const rate = (ms: number) => `${Math.round((ROWS / ms) * 1000).toLocaleString("en-US")}/s`;
    console.log(`\nstore bench: better-sqlite3, WAL, synchronous = FULL, ${ROWS} volunteers\n`);
    console.table(
      rows.map((r) => ({
        measure: r.label,
        "store ms": Math.round(r.storeMs),
        "raw ms": Math.round(r.rawMs),
        "ratio (store/raw)": Number((r.storeMs / r.rawMs).toFixed(2)),
        "store rows/s": rate(r.storeMs),
        "raw rows/s": rate(r.rawMs),
      })),
    );
    const round = (value: number) => Math.round(value * 100) / 100;
    console.log(
      JSON.stringify({
        bench: "store",
        rows: ROWS,
        page: PAGE,
        ratios: { creates: round(creates.storeMs / creates.rawMs), apply_server_changes: round(apply.storeMs / apply.rawMs) },
        rows_per_s: {
          creates: Math.round((ROWS / creates.storeMs) * 1000),
          raw_creates: Math.round((ROWS / creates.rawMs) * 1000),
          apply_server_changes: Math.round((ROWS / apply.storeMs) * 1000),
          raw_upserts: Math.round((ROWS / apply.rawMs) * 1000),
        },
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
