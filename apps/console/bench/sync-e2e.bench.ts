/**
 * `pnpm bench` end to end: a real client (`SyncManager` over the SQLite store) against the built
 * console (`pnpm start`'s server) over HTTP on loopback, each figure beside the raw driver doing the
 * same work in the same run.
 *
 *   DATABASE_URL=postgres://… pnpm bench   the server on PostgreSQL (a throwaway database, dropped after)
 *   pnpm bench                            skipped: the figures this bench reports are PostgreSQL's
 *   BENCH_UPLOAD_ROWS=2000,10000          the upload sizes (default 10,000 and 50,000)
 *   BENCH_INITIAL_ROWS=100000             the initial sync's size
 *
 * Measures: offline upload of N creates (and of a mix of creates, updates and deletes) against one
 * multi-row INSERT of the same rows, with the scaling ratio between sizes; empty poll and one-change
 * pull (median and p99 of 200 round trips); initial sync to a fresh SQLite client (time, rows/s,
 * client and server peak RSS) against raw keyset pages; 20 devices pushing at once.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createApiClient,
  createMemoryTokenStore,
  serverWins,
  SyncManager,
  uuidv7,
  type ApiClient,
  type LocalStore,
} from "@repensar/sync-client";
import { createSqliteStore } from "@repensar/sync-client/sqlite";
import { entityTypes } from "@repensar/contracts";
import postgres from "postgres";
import { startConsole, type ConsoleProcess } from "../test/server-process";
import { benchEnv } from "./env";

class BenchError extends Error {}
function must<T>(value: T | undefined | null, message: string): T {
  if (value === undefined || value === null) throw new BenchError(message);
  return value;
}

const sizes = (raw: string | undefined, fallback: number[]): number[] =>
  raw ? raw.split(",").map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0) : fallback;

const env = benchEnv;
const UPLOAD_SIZES = sizes(env["BENCH_UPLOAD_ROWS"], [10_000, 50_000]);
const INITIAL_ROWS = sizes(env["BENCH_INITIAL_ROWS"], [100_000])[0] ?? 100_000;
const PUSH_BATCH = Number(env["BENCH_PUSH_BATCH"] ?? 0) || undefined;
/** `BENCH_ONLY=upload,polls` runs only those parts (upload, mix, polls, initial, concurrent). */
const ONLY = new Set((env["BENCH_ONLY"] ?? "upload,mix,polls,initial,concurrent").split(",").map((s) => s.trim()));
const POLLS = 200;
const DEVICES = 20;
const PER_DEVICE = 2_000;
const PASSWORD = "correct horse battery staple";

const volunteerData = (i: number) => ({
  name: `Volunteer ${i}`,
  email: `volunteer${i}@example.org`,
  phone: "+351 912 345 678",
  skills: ["first aid", "driving"],
  status: "active",
  notes: "Available on weekends; prefers outdoor work and can drive the van to the collection points.",
});

// --- measuring -------------------------------------------------------------------------------

const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return must(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))], "no samples");
};
const median = (values: readonly number[]) => quantile(values, 0.5);

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

/** Resident memory of a process, from /proc (Linux), in bytes. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** Samples the peak RSS of this process and of `pid` while `run` runs. */
async function peakRss<T>(pid: number, run: () => Promise<T>): Promise<{ value: T; client: number; server: number }> {
  let client = process.memoryUsage().rss;
  let server = rssOf(pid);
  const timer = setInterval(() => {
    client = Math.max(client, process.memoryUsage().rss);
    server = Math.max(server, rssOf(pid));
  }, 20);
  try {
    const value = await run();
    client = Math.max(client, process.memoryUsage().rss);
    server = Math.max(server, rssOf(pid));
    return { value, client, server };
  } finally {
    clearInterval(timer);
  }
}

// --- the world -------------------------------------------------------------------------------

interface World {
  server: ConsoleProcess;
  sql: postgres.Sql;
  dir: string;
}

interface Device {
  api: ApiClient;
  store: LocalStore;
  manager: SyncManager;
  /** Milliseconds of each `/sync/push` round trip. */
  pushTimes: number[];
}

/** A new user, so a new organization whose rows no other measurement sees. */
async function newAccount(world: World): Promise<{ email: string; orgId: string }> {
  const email = `bench-${randomUUID()}@example.org`;
  const api = createApiClient({ baseUrl: world.server.url, tokens: createMemoryTokenStore() });
  await api.register({ email, password: PASSWORD, name: "Bench" });
  const [row] = await world.sql<{ org_id: string }[]>`
    select m.org_id::text as org_id from memberships m join users u on u.id = m.user_id where u.email = ${email}`;
  return { email, orgId: must(row, "registered user has no organization").org_id };
}

async function newDevice(world: World, email: string): Promise<Device> {
  const id = randomUUID();
  const tokens = createMemoryTokenStore();
  const pushTimes: number[] = [];
  const timedFetch: typeof fetch = async (input, init) => {
    if (!String(input).endsWith("/sync/push")) return fetch(input, init);
    const start = performance.now();
    const response = await fetch(input, init);
    const body = await response.arrayBuffer();
    pushTimes.push(performance.now() - start);
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  const api = createApiClient({ baseUrl: world.server.url, tokens, fetch: timedFetch });
  await api.login({ email, password: PASSWORD, device_id: id });
  const store = createSqliteStore(join(world.dir, `${id}.db`));
  const manager = new SyncManager({
    api,
    store,
    tokens,
    device: { device_id: id, device_name: `bench ${id.slice(0, 4)}`, device_type: "desktop", platform: "linux" },
    resolver: serverWins,
    pullLimit: 1000,
    ...(PUSH_BATCH ? { pushBatchSize: PUSH_BATCH } : {}),
  });
  return { api, store, manager, pushTimes };
}

/** Queues `count` offline creates on the device (not measured), as an app importing rows would: in bulk. */
async function queueCreates(device: Device, count: number, from = 0): Promise<void> {
  for (let at = 0; at < count; at += 5_000) {
    const rows = Array.from({ length: Math.min(5_000, count - at) }, (_, i) => ({ id: uuidv7(), ...volunteerData(from + at + i) }));
    await device.store.putMany("volunteer", rows);
  }
}

async function syncExpecting(device: Device, pushed: number): Promise<void> {
  const summary = await device.manager.sync();
  if (summary.pushed !== pushed) throw new BenchError(`sync pushed ${summary.pushed} of ${pushed} changes (${JSON.stringify(summary)})`);
}

// --- raw baselines ---------------------------------------------------------------------------

interface RawRow {
  id: string;
  i: number;
}

/** One multi-row INSERT of the rows (as columns of arrays, so any count fits in one statement). */
async function rawInsert(sql: postgres.Sql | postgres.TransactionSql, orgId: string, rows: readonly RawRow[]): Promise<void> {
  const cols = rows.map((r) => volunteerData(r.i));
  await sql`
    insert into volunteers (org_id, id, name, email, phone, skills, status, notes, version, modified_by_device_id)
    select ${orgId}::uuid, r.id, r.name, r.email, r.phone, array['first aid', 'driving'], r.status, r.notes, 1, 'raw'
    from unnest(${rows.map((r) => r.id)}::text[], ${cols.map((c) => c.name)}::text[], ${cols.map((c) => c.email)}::text[],
                ${cols.map((c) => c.phone)}::text[], ${cols.map((c) => c.status)}::text[], ${cols.map((c) => c.notes)}::text[])
         as r(id, name, email, phone, status, notes)`;
}

/** The mix's raw equivalent: the creates inserted, the updates and deletes each one set-based statement. */
async function rawMix(sql: postgres.Sql, orgId: string, creates: readonly RawRow[], updates: readonly string[], deletes: readonly string[]): Promise<void> {
  await sql.begin(async (tx) => {
    await rawInsert(tx, orgId, creates);
    await tx`update volunteers set notes = 'edited offline', version = version + 1, updated_at = now()
             where org_id = ${orgId}::uuid and id = any(${updates}::text[])`;
    await tx`update volunteers set deleted_at = now(), version = version + 1
             where org_id = ${orgId}::uuid and id = any(${deletes}::text[])`;
  });
}

/** Raw keyset pages of 1000 over the organization's rows: the initial sync's baseline. */
async function rawKeysetRead(sql: postgres.Sql, orgId: string): Promise<number> {
  let after = "";
  let rows = 0;
  for (;;) {
    const page = await sql<{ id: string }[]>`
      select id, name, email, phone, skills, status, notes, version, created_at, updated_at, deleted_at, modified_by_device_id
      from volunteers where org_id = ${orgId}::uuid and id > ${after} order by id limit 1000`;
    rows += page.length;
    const last = page.at(-1);
    if (!last || page.length < 1000) return rows;
    after = last.id;
  }
}

const newRows = (count: number): RawRow[] => Array.from({ length: count }, (_, i) => ({ id: uuidv7(), i }));

// --- the measurements ------------------------------------------------------------------------

interface UploadFigure {
  rows: number;
  ms: number;
  rawMs: number;
  /** Of `ms`, the time spent in `/sync/push` round trips (the rest is the client's and pulls'). */
  pushMs: number;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

async function measureUpload(world: World, rows: number): Promise<UploadFigure> {
  const { email } = await newAccount(world);
  const device = await newDevice(world, email);
  await queueCreates(device, rows);
  const ms = await timed(() => syncExpecting(device, rows));
  await device.store.close();
  const rawOrg = (await newAccount(world)).orgId;
  const rawMs = await timed(() => rawInsert(world.sql, rawOrg, newRows(rows)));
  return { rows, ms, rawMs, pushMs: sum(device.pushTimes) };
}

/** A device holding `rows` synced rows edits offline: 75 % new rows, 20 % updates, 5 % deletes. */
async function measureMix(world: World, rows: number): Promise<UploadFigure> {
  const { email } = await newAccount(world);
  const device = await newDevice(world, email);
  const updates = Math.round(rows * 0.2);
  const deletes = Math.round(rows * 0.05);
  const creates = rows - updates - deletes;
  await queueCreates(device, updates + deletes);
  await syncExpecting(device, updates + deletes);
  device.pushTimes.length = 0;
  const existing = (await device.store.list("volunteer")).map((row) => row.id);
  await queueCreates(device, creates, updates + deletes);
  for (const id of existing.slice(0, updates)) await device.store.update("volunteer", id, { notes: "edited offline" });
  for (const id of existing.slice(updates)) await device.store.delete("volunteer", id);
  const ms = await timed(() => syncExpecting(device, rows));
  await device.store.close();

  const rawOrg = (await newAccount(world)).orgId;
  const seeded = newRows(updates + deletes);
  await rawInsert(world.sql, rawOrg, seeded);
  const ids = seeded.map((r) => r.id);
  const rawMs = await timed(() => rawMix(world.sql, rawOrg, newRows(creates), ids.slice(0, updates), ids.slice(updates)));
  return { rows, ms, rawMs, pushMs: sum(device.pushTimes) };
}

interface PollFigure {
  emptyMedian: number;
  emptyP99: number;
  oneMedian: number;
  oneP99: number;
}

async function measurePolls(world: World): Promise<PollFigure> {
  const { email } = await newAccount(world);
  const reader = await newDevice(world, email);
  const writer = await newDevice(world, email);
  await queueCreates(writer, 100);
  await syncExpecting(writer, 100);
  await reader.manager.sync();
  const deviceId = reader.manager.deviceId;
  let token = must(await reader.store.getCursor(), "no cursor after a sync");
  const poll = async () => {
    const page = await reader.api.pull({ device_id: deviceId, entity_types: [...entityTypes], since: token, limit: 1000 });
    token = page.sync_token;
    return page.changes.length;
  };
  for (let i = 0; i < 20; i++) await poll();
  const empty: number[] = [];
  for (let i = 0; i < POLLS; i++) {
    const start = performance.now();
    const got = await poll();
    empty.push(performance.now() - start);
    if (got !== 0) throw new BenchError("an empty poll returned changes");
  }
  const writerId = writer.manager.deviceId;
  const one: number[] = [];
  for (let i = 0; i < POLLS; i++) {
    await writer.api.push({
      device_id: writerId,
      changes: [{ entity_type: "volunteer", entity_id: uuidv7(), operation: "CREATE", version: 0, change_id: randomUUID(), data: volunteerData(i) }],
    });
    // The change is committed when push answers; a pull may still wait for its snapshot to settle.
    let got = 0;
    let ms = 0;
    for (let attempt = 0; got === 0 && attempt < 50; attempt++) {
      const start = performance.now();
      got = await poll();
      ms = performance.now() - start;
    }
    if (got !== 1) throw new BenchError(`a one-change pull returned ${got} changes`);
    one.push(ms);
  }
  await reader.store.close();
  await writer.store.close();
  return { emptyMedian: median(empty), emptyP99: quantile(empty, 0.99), oneMedian: median(one), oneP99: quantile(one, 0.99) };
}

interface InitialFigure {
  rows: number;
  ms: number;
  rawMs: number;
  clientPeakRss: number;
  serverPeakRss: number;
}

async function measureInitialSync(world: World, pid: number): Promise<InitialFigure> {
  const { email, orgId } = await newAccount(world);
  for (let at = 0; at < INITIAL_ROWS; at += 10_000) await rawInsert(world.sql, orgId, newRows(Math.min(10_000, INITIAL_ROWS - at)));
  await world.sql`analyze volunteers`;
  const device = await newDevice(world, email);
  const start = performance.now();
  const { value: summary, client, server } = await peakRss(pid, () => device.manager.sync());
  const ms = performance.now() - start;
  if (summary.pulled !== INITIAL_ROWS) throw new BenchError(`initial sync pulled ${summary.pulled} of ${INITIAL_ROWS}`);
  await device.store.close();
  await rawKeysetRead(world.sql, orgId);
  const rawMs = await timed(() => rawKeysetRead(world.sql, orgId));
  return { rows: INITIAL_ROWS, ms, rawMs, clientPeakRss: client, serverPeakRss: server };
}

interface ConcurrentFigure {
  changes: number;
  ms: number;
  perSecond: number;
  p99: number;
  median: number;
}

async function measureConcurrentPush(world: World): Promise<ConcurrentFigure> {
  const devices: Device[] = [];
  for (let d = 0; d < DEVICES; d++) {
    const { email } = await newAccount(world);
    const device = await newDevice(world, email);
    await queueCreates(device, PER_DEVICE, d * PER_DEVICE);
    devices.push(device);
  }
  const ms = await timed(() => Promise.all(devices.map((device) => syncExpecting(device, PER_DEVICE))));
  const times = devices.flatMap((device) => device.pushTimes);
  for (const device of devices) await device.store.close();
  const changes = DEVICES * PER_DEVICE;
  return { changes, ms, perSecond: (changes / ms) * 1000, p99: quantile(times, 0.99), median: median(times) };
}

// --- main ------------------------------------------------------------------------------------

async function openWorld(base: string): Promise<{ world: World; close: () => Promise<void> }> {
  const name = `bench_e2e_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const server = await startConsole({
    DATABASE_URL: url.toString(),
    LOGIN_MAX_ATTEMPTS: "10000",
    ALLOW_REGISTRATION: "true",
  }, {
    // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to see where the server's time goes.
    nodeArgs: (env["BENCH_SERVER_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== ""),
  });
  const sql = postgres(url.toString(), { max: 4, onnotice: () => {} });
  const dir = mkdtempSync(join(tmpdir(), "repensar-bench-"));
  return {
    world: { server, sql, dir },
    close: async () => {
      await sql.end({ timeout: 5 });
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

function logged<T>(label: string, figure: T): T {
  console.error(`${label}: ${JSON.stringify(figure)}`);
  return figure;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

async function main(): Promise<void> {
  const base = env["DATABASE_URL"];
  if (!base) {
    console.log("sync e2e bench: skipped (set DATABASE_URL to a PostgreSQL server; its figures are PostgreSQL's)");
    return;
  }
  const { world, close } = await openWorld(base);
  try {
    const pid = must(world.server.pid, "the console has no pid");
    // Warm the server's code paths (JIT, prepared statements) on a small upload first.
    await measureUpload(world, 500);

    // Each figure is printed as it is measured, so a long run shows its progress.
    const uploads: UploadFigure[] = [];
    if (ONLY.has("upload")) for (const rows of UPLOAD_SIZES) uploads.push(logged("upload", await measureUpload(world, rows)));
    const mixes: UploadFigure[] = [];
    if (ONLY.has("mix")) for (const rows of UPLOAD_SIZES.slice(0, 1)) mixes.push(logged("mix", await measureMix(world, rows)));
    const polls = ONLY.has("polls") ? logged("polls", await measurePolls(world)) : null;
    const initial = ONLY.has("initial") ? logged("initial sync", await measureInitialSync(world, pid)) : null;
    const concurrent = ONLY.has("concurrent") ? logged("concurrent push", await measureConcurrentPush(world)) : null;
    report(uploads, mixes, polls, initial, concurrent);
  } finally {
    await close();
  }
}

function report(
  uploads: readonly UploadFigure[],
  mixes: readonly UploadFigure[],
  polls: PollFigure | null,
  initial: InitialFigure | null,
  concurrent: ConcurrentFigure | null,
): void {
  const first = uploads[0];
  const last = uploads.at(-1);
  const scaling = first && last && uploads.length > 1 ? last.ms / first.ms : null;
  const uploadRow = (label: string, u: UploadFigure) => ({
    measure: label,
    ms: round(u.ms, 0),
    "raw ms": round(u.rawMs, 0),
    ratio: round(u.ms / u.rawMs, 1),
    "rows/s": Math.round((u.rows / u.ms) * 1000),
    "in push ms": round(u.pushMs, 0),
  });
  console.log(`\nsync e2e bench: built console on PostgreSQL, SQLite client over HTTP on loopback\n`);
  console.table([
    ...uploads.map((u) => uploadRow(`upload ${u.rows} offline creates`, u)),
    ...mixes.map((u) => uploadRow(`upload ${u.rows} changes (75% create, 20% update, 5% delete)`, u)),
    ...(initial
      ? [{ measure: `initial sync ${initial.rows} rows (raw: keyset pages of 1000)`, ms: round(initial.ms, 0), "raw ms": round(initial.rawMs, 0), ratio: round(initial.ms / initial.rawMs, 1), "rows/s": Math.round((initial.rows / initial.ms) * 1000) }]
      : []),
  ]);
  console.table([
    ...(scaling !== null && first && last ? [{ measure: `upload scaling time(${last.rows}) / time(${first.rows})`, value: round(scaling, 2) }] : []),
    ...(polls
      ? [
          { measure: "empty poll, one round trip: median / p99 ms", value: `${round(polls.emptyMedian)} / ${round(polls.emptyP99)}` },
          { measure: "one-change pull, one round trip: median / p99 ms", value: `${round(polls.oneMedian)} / ${round(polls.oneP99)}` },
        ]
      : []),
    ...(initial ? [{ measure: "initial sync peak RSS: client / server MB", value: `${mb(initial.clientPeakRss)} / ${mb(initial.serverPeakRss)}` }] : []),
    ...(concurrent
      ? [
          { measure: `${DEVICES} devices pushing ${PER_DEVICE} each at once: changes/s`, value: Math.round(concurrent.perSecond) },
          { measure: `${DEVICES} devices pushing at once: push request median / p99 ms`, value: `${round(concurrent.median, 1)} / ${round(concurrent.p99, 1)}` },
        ]
      : []),
  ]);
  console.log(
    JSON.stringify({
      bench: "sync-e2e",
      driver: "postgres",
      upload: uploads.map((u) => ({ rows: u.rows, ms: round(u.ms, 0), ratio: round(u.ms / u.rawMs), push_ms: round(u.pushMs, 0) })),
      upload_scaling: scaling === null ? null : round(scaling),
      mix: mixes.map((u) => ({ rows: u.rows, ms: round(u.ms, 0), ratio: round(u.ms / u.rawMs) })),
      poll_ms: polls && { empty_median: round(polls.emptyMedian), empty_p99: round(polls.emptyP99), one_median: round(polls.oneMedian), one_p99: round(polls.oneP99) },
      initial_sync: initial && {
        rows: initial.rows,
        ms: round(initial.ms, 0),
        ratio: round(initial.ms / initial.rawMs),
        rows_per_s: Math.round((initial.rows / initial.ms) * 1000),
        client_peak_rss_mb: mb(initial.clientPeakRss),
        server_peak_rss_mb: mb(initial.serverPeakRss),
      },
      concurrent_push: concurrent && { devices: DEVICES, changes_per_s: Math.round(concurrent.perSecond), median_ms: round(concurrent.median, 1), p99_ms: round(concurrent.p99, 1) },
    }),
  );
}

await main();
