/**
 * `pnpm bench` for the client: the SQLite LocalStore against raw better-sqlite3 doing the same
 * writes with the same pragmas, in the same run, reported as ratios (never as bare timings).
 *
 *   pnpm bench                     10,000 rows
 *   BENCH_ROWS=2000 pnpm bench     fewer
 *
 * Measured: single creates (one transaction and one fsync each, as a person types), the bulk
 * local write (putMany, one transaction), settling pushed changes (completeChanges per batch of
 * PUSH_BATCH, and completeChange one by one for contrast), and applying pulled pages.
 *
 * Files live in a fresh temporary directory on the same disk as the OS temp dir, removed afterwards:
 * both sides fsync every commit (`synchronous = FULL`), so the disk sets the pace of single writes.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { ServerChange } from "../src/local-store";
import { createSqliteStore } from "../src/stores/sqlite";
import { benchRows } from "./env";
import { volunteerData } from "./volunteer";

const ROWS = benchRows(10_000);
const PAGE = 1000;
const PUSH_BATCH = 1000;
const REPEATS = 3;

interface Measure {
  readonly storeMs: number;
  readonly rawMs: number;
}

function median(measures: readonly Measure[]): Measure {
  const middle = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  return { storeMs: middle(measures.map((m) => m.storeMs)), rawMs: middle(measures.map((m) => m.rawMs)) };
}

class BenchError extends Error {}


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

/** The bulk local write: every create in one putMany, against the same inserts in one raw transaction. */
async function benchPutMany(dir: string): Promise<{ storeMs: number; rawMs: number }> {
  const input = Array.from({ length: ROWS }, (_, i) => volunteerData(i));
  const store = createSqliteStore(join(dir, "putmany-store.db"));
  const storeMs = await timed(() => store.putMany("volunteer", input));
  const pending = await store.pendingCount();
  await store.close();
  if (pending !== ROWS) throw new BenchError(`the outbox holds ${pending} of ${ROWS} creates`);

  const raw = await openRaw(join(dir, "putmany-raw.db"));
  const upsert = raw.prepare(upsertSql);
  const outbox = raw.prepare(
    `INSERT INTO outbox (change_id, entity_type, entity_id, operation, data, version, modified_at) VALUES (?, 'volunteer', ?, 'CREATE', ?, 0, ?)`,
  );
  const createAll = raw.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      const id = randomUUID();
      const at = new Date().toISOString();
      upsert.run(rowRecord(id, i, at, 0, null));
      outbox.run(randomUUID(), id, JSON.stringify(volunteerData(i)), at);
    }
  });
  const rawMs = await timed(() => createAll.immediate());
  raw.close();
  return { storeMs, rawMs };
}

/**
 * Settling pushed CREATEs at version 1, in batches of PUSH_BATCH: the store (completeChanges per
 * batch, or completeChange per change) against raw statements doing the same per change (drop
 * the outbox entry, write the row's version, pending flag and base) in one transaction per batch.
 */
async function benchSettle(dir: string, mode: "batch" | "one-by-one"): Promise<{ storeMs: number; rawMs: number }> {
  const store = createSqliteStore(join(dir, `settle-${mode}-store.db`));
  await store.putMany("volunteer", Array.from({ length: ROWS }, (_, i) => volunteerData(i)));
  const pending = (await store.pendingChanges(ROWS)).map((change) => change.change_id);
  await store.markSent(pending);
  const batches = Array.from({ length: Math.ceil(ROWS / PUSH_BATCH) }, (_, b) => pending.slice(b * PUSH_BATCH, (b + 1) * PUSH_BATCH));
  const storeMs = await timed(async () => {
    for (const batch of batches) {
      if (mode === "batch") await store.completeChanges(batch.map((change_id) => ({ change_id, version: 1 })));
      else for (const change_id of batch) await store.completeChange(change_id, { version: 1 });
    }
  });
  const left = await store.pendingCount();
  await store.close();
  if (left !== 0) throw new BenchError(`${left} changes were left unsettled`);

  const raw = await openRaw(join(dir, `settle-${mode}-raw.db`));
  const upsert = raw.prepare(upsertSql);
  const outbox = raw.prepare(
    `INSERT INTO outbox (change_id, entity_type, entity_id, operation, data, version, modified_at, sent_at) VALUES (?, 'volunteer', ?, 'CREATE', ?, 0, ?, ?)`,
  );
  const at = new Date().toISOString();
  const entries = Array.from({ length: ROWS }, (_, i) => ({ i, id: randomUUID(), changeId: randomUUID() }));
  raw.transaction(() => {
    for (const { i, id, changeId } of entries) {
      upsert.run(rowRecord(id, i, at, 0, null));
      outbox.run(changeId, id, JSON.stringify(volunteerData(i)), at, at);
    }
  })();
  const dropEntry = raw.prepare(`DELETE FROM outbox WHERE change_id = ?`);
  const settleRow = raw.prepare(`UPDATE volunteers SET version = 1, _pending = 0, _base = ? WHERE id = ?`);
  const settleBatch = raw.transaction((batch: typeof entries) => {
    for (const { i, id, changeId } of batch) {
      dropEntry.run(changeId);
      settleRow.run(JSON.stringify({ version: 1, data: volunteerData(i), deleted_at: null, updated_at: at }), id);
    }
  });
  const rawMs = await timed(() => {
    for (let start = 0; start < ROWS; start += PUSH_BATCH) settleBatch.immediate(entries.slice(start, start + PUSH_BATCH));
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
    // Each measure REPEATS times, in fresh files, store and raw side by side; the medians are
    // reported, so a burst of load on a shared machine moves one sample, not the ratio.
    const runs: Record<"creates" | "putMany" | "settleBatch" | "settleOne" | "apply", Measure[]> = {
      creates: [],
      putMany: [],
      settleBatch: [],
      settleOne: [],
      apply: [],
    };
    for (let r = 0; r < REPEATS; r++) {
      const run = join(dir, `run-${r}`);
      mkdirSync(run);
      runs.creates.push(await benchCreates(run));
      runs.putMany.push(await benchPutMany(run));
      runs.settleBatch.push(await benchSettle(run, "batch"));
      runs.settleOne.push(await benchSettle(run, "one-by-one"));
      runs.apply.push(await benchApply(run));
    }
    const creates = median(runs.creates);
    const putMany = median(runs.putMany);
    const settleBatch = median(runs.settleBatch);
    const settleOne = median(runs.settleOne);
    const apply = median(runs.apply);
    const rows = [
      { label: `${ROWS} creates, one transaction each (row + outbox entry)`, ...creates },
      { label: `putMany of ${ROWS} creates, one transaction`, ...putMany },
      { label: `completeChanges, ${ROWS} pushed changes in batches of ${PUSH_BATCH}`, ...settleBatch },
      { label: `completeChange one by one, ${ROWS} pushed changes (raw: batches of ${PUSH_BATCH})`, ...settleOne },
      { label: `applyServerChanges, ${ROWS} rows in pages of ${PAGE}`, ...apply },
    ];
    const rate = (ms: number) => `${Math.round((ROWS / ms) * 1000).toLocaleString("en-US")}/s`;
    console.log(`\nstore bench: better-sqlite3, WAL, synchronous = FULL, ${ROWS} volunteers, medians of ${REPEATS}\n`);
    console.table(
      rows.map((r) => ({
        measure: r.label,
        "ratio (store/raw)": Number((r.storeMs / r.rawMs).toFixed(2)),
        "store rows/s": rate(r.storeMs),
        "raw rows/s": rate(r.rawMs),
      })),
    );
    const round = (value: number) => Math.round(value * 100) / 100;
    const ratio = (r: { storeMs: number; rawMs: number }) => round(r.storeMs / r.rawMs);
    const perSecond = (ms: number) => Math.round((ROWS / ms) * 1000);
    console.log(
      JSON.stringify({
        bench: "store",
        rows: ROWS,
        page: PAGE,
        push_batch: PUSH_BATCH,
        repeats: REPEATS,
        ratios: {
          creates: ratio(creates),
          put_many: ratio(putMany),
          complete_changes: ratio(settleBatch),
          complete_change_one_by_one: ratio(settleOne),
          apply_server_changes: ratio(apply),
        },
        rows_per_s: {
          creates: perSecond(creates.storeMs),
          raw_creates: perSecond(creates.rawMs),
          put_many: perSecond(putMany.storeMs),
          raw_bulk_creates: perSecond(putMany.rawMs),
          complete_changes: perSecond(settleBatch.storeMs),
          complete_change_one_by_one: perSecond(settleOne.storeMs),
          raw_settle: perSecond(settleBatch.rawMs),
          apply_server_changes: perSecond(apply.storeMs),
          raw_upserts: perSecond(apply.rawMs),
        },
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
