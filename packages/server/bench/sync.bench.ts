/**
 * `pnpm bench` for the server: the sync paths against the same work done with a raw driver in the
 * same run, reported as ratios (never as bare timings), plus the SQL statements each request sends
 * and the memory a full sync holds.
 *
 *   DATABASE_URL=postgres://… pnpm bench   PostgreSQL, in a throwaway database dropped afterwards
 *   pnpm bench                            PGlite in memory
 *   BENCH_ROWS=50000 pnpm bench           more rows (default 10,000)
 */
import { randomBytes, randomUUID } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { entityTypes, type PushChange } from "@repensar/contracts";
import { migrate, rowsOf, schema, type Database, type DatabaseHandle } from "@repensar/db";
import { sql, type Logger as QueryLogger } from "drizzle-orm";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { createApp, createLogger, readEnvironment, testConfig, type ServerContext } from "../src";
import type { Principal } from "../src/auth/principal";
import { pullChanges } from "../src/sync/pull";
import { pushChanges } from "../src/sync/push";
import { settle } from "../src/sync/testing";

const env = readEnvironment();
const ROWS = Number(env.BENCH_ROWS ?? 10_000);
const PAGE = 1000;
const PUSH_BATCH = 1000;
const REPEATS = 3;
const POLLS = 200;

class BenchError extends Error {}
function must<T>(value: T | undefined | null, message: string): T {
  if (value === undefined || value === null) throw new BenchError(message);
  return value;
}

/** Counts the statements drizzle sends (BEGIN/COMMIT are not among them). */
class StatementCounter implements QueryLogger {
  count = 0;
  /** The opening words of each statement, while `recording`. */
  recorded: string[] = [];
  recording = false;
  logQuery(query: string): void {
    this.count += 1;
    if (this.recording) this.recorded.push(query.replace(/\s+/g, " ").trim().split(" ").slice(0, 4).join(" "));
  }
}

/** The driver itself, without drizzle or the server: what the server's work is measured against. */
interface RawDriver {
  query<T extends Record<string, unknown>>(text: string, params: readonly (string | number | null)[]): Promise<T[]>;
}

interface Target {
  name: "pglite" | "postgres";
  handle: DatabaseHandle;
  raw: RawDriver;
  statements: StatementCounter;
  close(): Promise<void>;
}

async function handleOver(db: Database, driver: Target["name"], close: () => Promise<void>): Promise<DatabaseHandle> {
  await migrate(db);
  const [meta] = rowsOf<{ epoch: string }>(await db.execute(sql`select epoch::text as epoch from server_meta where id = 1`));
  return {
    db,
    driver,
    epoch: must(meta, "server_meta has no row").epoch,
    rows: async (query, on = db) => rowsOf(await on.execute(query)),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close,
  };
}

async function openPglite(): Promise<Target> {
  const client = await PGlite.create("memory://");
  const statements = new StatementCounter();
  const close = () => client.close();
  const handle = await handleOver(drizzlePglite({ client, schema, logger: statements }), "pglite", close);
  return {
    name: "pglite",
    handle,
    statements,
    raw: { query: async <T,>(text: string, params: readonly (string | number | null)[]) => (await client.query<T>(text, [...params])).rows },
    close,
  };
}

/** A database of its own, created from `base` and dropped on close, the way the pg tests get theirs. */
async function openPostgres(base: string): Promise<Target> {
  const name = `bench_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const client = postgres(url.toString(), { max: 10, onnotice: () => {} });
  const statements = new StatementCounter();
  const close = async () => {
    await client.end({ timeout: 5 });
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  };
  try {
    const handle = await handleOver(drizzlePostgres({ client, schema, logger: statements }), "postgres", close);
    return {
      name: "postgres",
      handle,
      statements,
      raw: { query: async <T,>(text: string, params: readonly (string | number | null)[]) => client.unsafe<T[]>(text, [...params], { prepare: true }) },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

// --- data ------------------------------------------------------------------------------------

const volunteerData = (i: number) => ({
  name: `Volunteer ${i}`,
  email: `volunteer${i}@example.org`,
  phone: "+351 912 345 678",
  skills: ["first aid", "driving"],
  status: "active",
  notes: "Available on weekends; prefers outdoor work and can drive the van to the collection points.",
});

const createChange = (i: number): PushChange => ({
  entity_type: "volunteer",
  entity_id: randomUUID(),
  operation: "CREATE",
  data: volunteerData(i),
  version: 0,
  change_id: randomUUID(),
});

async function createPrincipal(ctx: ServerContext): Promise<Principal> {
  const { db } = ctx.database;
  const [org] = await db.insert(schema.organizations).values({ name: "Bench" }).returning();
  const orgId = must(org, "no organization").id;
  const [user] = await db.insert(schema.users).values({ email: `${randomUUID()}@example.org`, name: "Bench", passwordHash: "x" }).returning();
  const userId = must(user, "no user").id;
  await db.insert(schema.memberships).values({ orgId, userId, role: "member" });
  const deviceId = randomUUID();
  await db.insert(schema.devices).values({ deviceId, userId, orgId, deviceName: "Bench device", deviceType: "desktop", platform: "linux" });
  return { userId, orgId, role: "member", deviceId, tokenId: "bench", expiresAt: new Date(Date.now() + 3_600_000) };
}

async function push(ctx: ServerContext, principal: Principal, changes: PushChange[], atomic: boolean): Promise<void> {
  const response = await pushChanges(ctx, principal, { device_id: must(principal.deviceId, "no device"), changes, atomic });
  if (response.applied !== changes.length) throw new BenchError(`push applied ${response.applied} of ${changes.length}`);
}

// --- measuring -------------------------------------------------------------------------------

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return must(sorted[Math.floor(sorted.length / 2)], "no samples");
};

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

const collectGarbage = (): void => {
  if (globalThis.gc) globalThis.gc();
};

interface FullSync {
  rows: number;
  pages: number;
  token: string;
  statementsPerPage: number[];
}

async function fullSync(ctx: ServerContext, principal: Principal, target: Target, onPage?: (rows: number) => void): Promise<FullSync> {
  let since: string | null = null;
  let rows = 0;
  let pages = 0;
  const statementsPerPage: number[] = [];
  for (;;) {
    const before = target.statements.count;
    const page = await pullChanges(ctx, principal, { device_id: must(principal.deviceId, "no device"), entity_types: entityTypes, since, limit: PAGE });
    statementsPerPage.push(target.statements.count - before);
    rows += page.changes.length;
    pages += 1;
    since = page.sync_token;
    onPage?.(page.changes.length === 0 ? 0 : JSON.stringify(page.changes).length);
    if (!page.has_more) return { rows, pages, token: since, statementsPerPage };
  }
}

const VOLUNTEER_COLUMNS = `id, name, email, phone, skills, status, notes, version, created_at, updated_at, deleted_at, modified_by_device_id`;

/** The baseline for a full sync: the same rows, pages of PAGE keyed on id. */
async function rawFullRead(raw: RawDriver, orgId: string): Promise<number> {
  let after = "";
  let rows = 0;
  for (;;) {
    const page = await raw.query<{ id: string }>(
      `select ${VOLUNTEER_COLUMNS} from volunteers where org_id = $1 and id > $2 order by id limit ${PAGE}`,
      [orgId, after],
    );
    rows += page.length;
    const last = page[page.length - 1];
    if (!last || page.length < PAGE) return rows;
    after = last.id;
  }
}

/** The baseline for a push: one multi-row INSERT of the same rows. */
async function rawInsert(raw: RawDriver, orgId: string, deviceId: string, changes: PushChange[]): Promise<void> {
  const params: (string | number | null)[] = [];
  const values = changes.map((change, i) => {
    const d = volunteerData(i);
    const skills = `{${d.skills.map((s) => `"${s}"`).join(",")}}`;
    const row = [orgId, change.entity_id, d.name, d.email, d.phone, skills, d.status, d.notes, 1, deviceId];
    const first = params.length;
    params.push(...row);
    return `(${row.map((_, j) => `$${first + j + 1}${j === 5 ? "::text[]" : ""}`).join(", ")})`;
  });
  await raw.query(
    `insert into volunteers (org_id, id, name, email, phone, skills, status, notes, version, modified_by_device_id) values ${values.join(", ")}`,
    params,
  );
}

interface Comparison {
  label: string;
  serverMs: number;
  rawMs: number;
  rows: number;
}

async function main(): Promise<void> {
  const databaseUrl = env.DATABASE_URL;
  const target = databaseUrl ? await openPostgres(databaseUrl) : await openPglite();
  const app = await createApp(testConfig(), { database: target.handle, log: createLogger("silent") });
  try {
    await run(app.context, target);
  } finally {
    await app.close();
    await target.close();
  }
}

async function run(ctx: ServerContext, target: Target): Promise<void> {
  const { raw } = target;
  const principal = await createPrincipal(ctx);
  const deviceId = must(principal.deviceId, "no device");
  const started = performance.now();

  // Seed through the push path, in atomic batches (one transaction per batch).
  for (let at = 0; at < ROWS; at += PUSH_BATCH) {
    const changes = Array.from({ length: Math.min(PUSH_BATCH, ROWS - at) }, (_, i) => createChange(at + i));
    await push(ctx, principal, changes, true);
  }
  await settle(ctx.database);
  const seedMs = performance.now() - started;

  // Full initial sync vs raw keyed pages (warm-up first, then alternate).
  const warm = await fullSync(ctx, principal, target);
  if (warm.rows !== ROWS) throw new BenchError(`full sync handed out ${warm.rows} of ${ROWS} rows`);
  await rawFullRead(raw, principal.orgId);
  const syncTimes: number[] = [];
  const rawReadTimes: number[] = [];
  let sync = warm;
  for (let i = 0; i < REPEATS; i++) {
    syncTimes.push(await timed(async () => (sync = await fullSync(ctx, principal, target))));
    rawReadTimes.push(await timed(() => rawFullRead(raw, principal.orgId)));
  }

  // Memory over one more full sync: peak RSS, and the heap still held after each page once
  // garbage is collected. Flat from the first page to the last means bounded by the page size.
  collectGarbage();
  const base = process.memoryUsage();
  let peakRss = 0;
  let peakRssAbsolute = 0;
  const retainedHeap: number[] = [];
  let payloadBytes = 0;
  await fullSync(ctx, principal, target, (bytes) => {
    payloadBytes += bytes;
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss - base.rss);
    peakRssAbsolute = Math.max(peakRssAbsolute, now.rss);
    collectGarbage();
    retainedHeap.push(process.memoryUsage().heapUsed - base.heapUsed);
  });

  // Empty poll (token at head) vs an indexed query answering nothing.
  const [head] = await raw.query<{ txid: string; seq: string }>(
    `select txid::text as txid, seq::text as seq from volunteers where org_id = $1 order by txid desc, seq desc limit 1`,
    [principal.orgId],
  );
  const headRow = must(head, "no rows");
  const poll = () => pullChanges(ctx, principal, { device_id: deviceId, entity_types: entityTypes, since: sync.token, limit: PAGE });
  const rawPoll = () =>
    raw.query(`select 1 from volunteers where org_id = $1 and (txid, seq) > ($2::xid8, $3::bigint) order by txid, seq limit 1`, [
      principal.orgId,
      headRow.txid,
      headRow.seq,
    ]);
  for (let i = 0; i < 20; i++) {
    const page = await poll();
    if (page.changes.length > 0) throw new BenchError("an empty poll returned changes");
    await rawPoll();
  }
  const before = target.statements.count;
  target.statements.recording = true;
  await poll();
  target.statements.recording = false;
  const statementsPerPoll = target.statements.count - before;
  const pollStatements = target.statements.recorded.map((text) => `${text} …`);
  const pollTimes: number[] = [];
  const rawPollTimes: number[] = [];
  for (let i = 0; i < POLLS; i++) {
    pollTimes.push(await timed(poll));
    rawPollTimes.push(await timed(rawPoll));
  }

  // Push of PUSH_BATCH creates, each in its own transaction, vs one multi-row INSERT.
  await push(ctx, principal, Array.from({ length: 50 }, (_, i) => createChange(i)), false);
  const pushTimes: number[] = [];
  const atomicTimes: number[] = [];
  const insertTimes: number[] = [];
  let statementsPerPush = 0;
  for (let i = 0; i < 2; i++) {
    const countBefore = target.statements.count;
    const batch = Array.from({ length: PUSH_BATCH }, (_, j) => createChange(j));
    pushTimes.push(await timed(() => push(ctx, principal, batch, false)));
    statementsPerPush = target.statements.count - countBefore;
    const atomicBatch = Array.from({ length: PUSH_BATCH }, (_, j) => createChange(j));
    atomicTimes.push(await timed(() => push(ctx, principal, atomicBatch, true)));
    const rawBatch = Array.from({ length: PUSH_BATCH }, (_, j) => createChange(j));
    insertTimes.push(await timed(() => rawInsert(raw, principal.orgId, deviceId, rawBatch)));
  }

  const comparisons: Comparison[] = [
    { label: `full sync, ${ROWS} rows, pages of ${PAGE}`, serverMs: median(syncTimes), rawMs: median(rawReadTimes), rows: ROWS },
    { label: "empty poll (token at head)", serverMs: median(pollTimes), rawMs: median(rawPollTimes), rows: 0 },
    { label: `push ${PUSH_BATCH} creates (non-atomic)`, serverMs: median(pushTimes), rawMs: median(insertTimes), rows: PUSH_BATCH },
    { label: `push ${PUSH_BATCH} creates (atomic)`, serverMs: median(atomicTimes), rawMs: median(insertTimes), rows: PUSH_BATCH },
  ];
  const ratio = (c: Comparison) => c.serverMs / c.rawMs;
  const rate = (rows: number, ms: number) => (rows === 0 ? "" : `${Math.round((rows / ms) * 1000).toLocaleString("en-US")}/s`);
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const pageStatements = sync.statementsPerPage;
  const firstRetained = retainedHeap[0] ?? 0;
  const lastRetained = retainedHeap[retainedHeap.length - 1] ?? 0;

  console.log(`\nsync bench: ${target.name}, ${ROWS} volunteers in one org (seeded through push in ${(seedMs / 1000).toFixed(1)} s)\n`);
  console.table(
    comparisons.map((c) => ({
      measure: c.label,
      "server ms": Number(c.serverMs.toFixed(2)),
      "raw ms": Number(c.rawMs.toFixed(2)),
      "ratio (server/raw)": Number(ratio(c).toFixed(1)),
      "server rows/s": rate(c.rows, c.serverMs),
      "raw rows/s": rate(c.rows, c.rawMs),
    })),
  );
  console.table([
    { measure: "SQL statements per empty poll", value: `${statementsPerPoll}: ${pollStatements.join(" | ")}` },
    { measure: `SQL statements per full-sync page (${sync.pages} pages)`, value: `${Math.min(...pageStatements)}–${Math.max(...pageStatements)}` },
    { measure: `SQL statements per pushed change (non-atomic)`, value: (statementsPerPush / PUSH_BATCH).toFixed(2) },
    { measure: "full sync payload (JSON of all changes)", value: mb(payloadBytes) },
    { measure: "peak RSS during full sync (growth)", value: `${mb(peakRssAbsolute)} (+${mb(peakRss)})` },
    { measure: "heap retained after page 1 / after last page", value: `${mb(firstRetained)} / ${mb(lastRetained)}` },
    { measure: "max heap retained between pages", value: mb(Math.max(...retainedHeap)) },
  ]);
  console.log(
    JSON.stringify({
      bench: "sync",
      driver: target.name,
      rows: ROWS,
      page: PAGE,
      ratios: {
        full_sync: round(ratio(must(comparisons[0], "full sync"))),
        empty_poll: round(ratio(must(comparisons[1], "empty poll"))),
        push_non_atomic: round(ratio(must(comparisons[2], "push"))),
        push_atomic: round(ratio(must(comparisons[3], "atomic push"))),
      },
      rows_per_s: {
        full_sync: Math.round((ROWS / median(syncTimes)) * 1000),
        raw_read: Math.round((ROWS / median(rawReadTimes)) * 1000),
        push_non_atomic: Math.round((PUSH_BATCH / median(pushTimes)) * 1000),
        raw_insert: Math.round((PUSH_BATCH / median(insertTimes)) * 1000),
      },
      statements: { empty_poll: statementsPerPoll, per_page_max: Math.max(...pageStatements), per_pushed_change: round(statementsPerPush / PUSH_BATCH) },
      memory: {
        payload_bytes: payloadBytes,
        peak_rss_bytes: peakRssAbsolute,
        peak_rss_growth_bytes: peakRss,
        retained_heap_first_page_bytes: firstRetained,
        retained_heap_last_page_bytes: lastRetained,
        gc_exposed: globalThis.gc !== undefined,
      },
    }),
  );
}

const round = (value: number) => Math.round(value * 100) / 100;

await main();
