/**
 * `pnpm bench:push`: an offline upload end to end, through SyncManager over HTTP to the real
 * server in this process (`startTestServer`), once per push batch size, each on a fresh server
 * and a fresh SQLite client. It reports, per batch size, the upload's throughput as a ratio to
 * the best batch size of the same run, and how the upload's time divides between HTTP (the
 * request, the server's work, the answer) and the client (its store calls, the rest of its work).
 *
 *   pnpm bench:push                                  PGlite, 10,000 creates, batches 100,250,500,1000
 *   DATABASE_URL=postgres://… pnpm bench:push        PostgreSQL (give it a throwaway database)
 *   BENCH_ROWS=2000 BENCH_PUSH_BATCHES=500,1000 …   fewer
 *   BENCH_PUSH_STUB_ONLY=1 pnpm bench:push           the client alone
 *
 * The server runs in this process, so its CPU time is inside the HTTP time, never the client's.
 * A second pass answers every push at once from a stub `fetch` (each change applied at version 1)
 * with no server at all: what is left is the client's own cost per change, whatever the server's
 * speed, which is what the client's batch size has to keep small.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer } from "@repensar/server/testing";
import { createApiClient } from "../src/api/client";
import type { LocalStore, LocalWriter } from "../src/local-store";
import { createSqliteStore } from "../src/stores/sqlite";
import { SyncManager } from "../src/sync-manager";
import { createMemoryTokenStore } from "../src/tokens/token-store";
import { benchDatabase, benchPushBatches, benchRows, benchStubOnly } from "./env";
import { volunteerData } from "./volunteer";

const ROWS = benchRows(10_000);
const BATCHES = benchPushBatches([100, 250, 500, 1000]);
const PASSWORD = "correct horse battery";
const BENCH_DATABASE = benchDatabase();

class BenchError extends Error {}

/** Milliseconds per name. */
class Spent {
  readonly ms = new Map<string, number>();
  add(name: string, ms: number): void {
    this.ms.set(name, (this.ms.get(name) ?? 0) + ms);
  }
  get(name: string): number {
    return this.ms.get(name) ?? 0;
  }
  total(): number {
    return [...this.ms.values()].reduce((a, b) => a + b, 0);
  }
}

/** The store with the time of each call counted (the SQLite store is synchronous underneath, so this is its own time). */
function timedStore(store: LocalStore, spent: Spent): LocalStore {
  const time = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await call();
    } finally {
      spent.add(name, performance.now() - start);
    }
  };
  return {
    create: (type, data) => time("create", () => store.create(type, data)),
    update: (type, id, patch) => time("update", () => store.update(type, id, patch)),
    delete: (type, id) => time("delete", () => store.delete(type, id)),
    get: (type, id, options) => time("get", () => store.get(type, id, options)),
    list: (type, options) => time("list", () => store.list(type, options)),
    transaction: <T>(write: (writer: LocalWriter) => T) => time("transaction", () => store.transaction(write)),
    putMany: (type, rows) => time("putMany", () => store.putMany(type, rows)),
    pendingChanges: (limit) => time("pendingChanges", () => store.pendingChanges(limit)),
    pendingCount: () => time("pendingCount", () => store.pendingCount()),
    markSent: (ids) => time("markSent", () => store.markSent(ids)),
    completeChange: (id, result) => time("completeChange", () => store.completeChange(id, result)),
    completeChanges: (results) => time("completeChanges", () => store.completeChanges(results)),
    recordFailure: (id, error) => time("recordFailure", () => store.recordFailure(id, error)),
    recordFailures: (ids, error) => time("recordFailures", () => store.recordFailures(ids, error)),
    refuseChange: (id, error) => time("refuseChange", () => store.refuseChange(id, error)),
    refusedChanges: () => time("refusedChanges", () => store.refusedChanges()),
    resendChange: (id) => time("resendChange", () => store.resendChange(id)),
    discardChange: (id) => time("discardChange", () => store.discardChange(id)),
    applyServerChanges: (changes, cursor) => time("applyServerChanges", () => store.applyServerChanges(changes, cursor)),
    reconcileServerChanges: (changes) => time("reconcileServerChanges", () => store.reconcileServerChanges(changes)),
    getCursor: () => time("getCursor", () => store.getCursor()),
    setCursor: (cursor) => time("setCursor", () => store.setCursor(cursor)),
    syncState: (type, id) => time("syncState", () => store.syncState(type, id)),
    settleChange: (id, server) => time("settleChange", () => store.settleChange(id, server)),
    acceptServerState: (type, id, server) => time("acceptServerState", () => store.acceptServerState(type, id, server)),
    rebaseOnServer: (type, id, server, resolved) => time("rebaseOnServer", () => store.rebaseOnServer(type, id, server, resolved)),
    getMeta: (key) => time("getMeta", () => store.getMeta(key)),
    setMeta: (key, value) => time("setMeta", () => store.setMeta(key, value)),
    close: () => store.close(),
  };
}

/** `fetch` with the time until each answer's body has arrived counted per endpoint. */
function timedFetch(spent: Spent, send: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const start = performance.now();
    const response = await send(input, init);
    const body = await response.arrayBuffer();
    spent.add(new URL(String(input)).pathname, performance.now() - start);
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}


interface Upload {
  batch: number;
  server: "real" | "stub";
  /** From the empty pull before the push to the last batch settled. */
  pushMs: number;
  /** The whole sync(), including the pull that follows the push. */
  syncMs: number;
  pushHttpMs: number;
  pullHttpMs: number;
  /** Store calls during the push phase. */
  storeMs: Spent;
}

/** A server that answers at once: registration, an empty pull, and every pushed change applied at version 1. */
const stubServer: typeof fetch = async (input, init) => {
  const path = new URL(String(input)).pathname;
  const at = new Date().toISOString();
  if (path === "/sync/device/register") {
    return Response.json({ device_id: "stub", registered_at: at, last_sync_at: null, message: "registered" });
  }
  if (path === "/sync/pull") return Response.json({ changes: [], sync_token: "stub-token", has_more: false, total_changes: 0 });
  if (path === "/sync/push") {
    const body: unknown = JSON.parse(typeof init?.body === "string" ? init.body : "{}");
    const changes = typeof body === "object" && body !== null && "changes" in body && Array.isArray(body.changes) ? body.changes : [];
    const results = changes.map((change: unknown) => {
      if (typeof change !== "object" || change === null) throw new BenchError("a pushed change is not an object");
      const field = (name: string) => (name in change ? String(Reflect.get(change, name)) : "");
      return { change_id: field("change_id"), entity_type: field("entity_type"), entity_id: field("entity_id"), status: "applied", version: 1 };
    });
    return Response.json({ applied: results.length, conflicts: [], failed: 0, sync_token: "stub-token", results });
  }
  throw new BenchError(`the stub server does not answer ${path}`);
};

async function upload(batch: number, dir: string, kind: "real" | "stub"): Promise<Upload> {
  const server = kind === "real" ? await startTestServer({ loginMaxAttempts: 10_000 }) : null;
  try {
    const http = new Spent();
    const tokens = createMemoryTokenStore();
    const deviceId = randomUUID();
    let api;
    if (server) {
      api = createApiClient({ baseUrl: server.url, tokens, fetch: timedFetch(http) });
      const email = `bench-${randomUUID()}@example.org`;
      await api.register({ email, password: PASSWORD, name: "Bench" });
      await api.login({ email, password: PASSWORD, device_id: deviceId });
    } else {
      await tokens.save({ access_token: "stub", refresh_token: "stub", expires_at: null });
      api = createApiClient({ baseUrl: "http://stub.invalid", tokens, fetch: timedFetch(http, stubServer) });
    }
    const rawStore = createSqliteStore(join(dir, `push-${kind}-${batch}.db`));
    const store = new Spent();
    const manager = new SyncManager({
      api,
      store: timedStore(rawStore, store),
      tokens,
      device: { device_id: deviceId, device_name: "bench", device_type: "desktop", platform: "linux" },
      pushBatchSize: batch,
      pullLimit: 1000,
    });
    await manager.sync(); // registers the device, outside the measure
    await rawStore.putMany("volunteer", Array.from({ length: ROWS }, (_, i) => volunteerData(i)));

    // The push phase runs from the pull before it (empty) to the last batch settled.
    let pushStart = 0;
    let pushEnd = 0;
    let snapshot: { store: Spent; push: number } | null = null;
    const mark = () => {
      const copy = new Spent();
      for (const [name, ms] of store.ms) copy.add(name, ms);
      return { store: copy, push: http.get("/sync/push") };
    };
    let base = mark();
    manager.on("progress", (progress) => {
      if (progress.phase === "pull" && pushEnd === 0) {
        pushStart = performance.now();
        base = mark();
      }
      if (progress.phase === "push") {
        pushEnd = performance.now();
        snapshot = mark();
      }
    });
    const start = performance.now();
    const summary = await manager.sync();
    const syncMs = performance.now() - start;
    if (summary.pushed !== ROWS) throw new BenchError(`pushed ${summary.pushed} of ${ROWS}`);
    if (!snapshot) throw new BenchError("no push progress was reported");
    const end: { store: Spent; push: number } = snapshot;
    const storeMs = new Spent();
    for (const [name, ms] of end.store.ms) storeMs.add(name, ms - base.store.get(name));
    await rawStore.close();
    return {
      batch,
      server: kind,
      pushMs: pushEnd - pushStart,
      syncMs,
      pushHttpMs: end.push - base.push,
      pullHttpMs: http.get("/sync/pull"),
      storeMs,
    };
  } finally {
    await server?.close();
  }
}

function report(runs: readonly Upload[], title: string): void {
  const best = Math.min(...runs.map((run) => run.pushMs));
  const round = (value: number) => Math.round(value * 100) / 100;
  console.log(`\n${title}\n`);
  console.table(
    runs.map((run) => {
      const storeMs = run.storeMs.total();
      const clientMs = run.pushMs - run.pushHttpMs;
      return {
        "batch size": run.batch,
        "push changes/s": Math.round((ROWS / run.pushMs) * 1000),
        "push time / best": round(run.pushMs / best),
        "HTTP share": `${Math.round((run.pushHttpMs / run.pushMs) * 100)} %`,
        "client share": `${Math.round((clientMs / run.pushMs) * 100)} %`,
        "store share": `${Math.round((storeMs / run.pushMs) * 100)} %`,
        "client µs/change": Math.round((clientMs / ROWS) * 1000),
        "store µs/change": Math.round((storeMs / ROWS) * 1000),
      };
    }),
  );
  console.log(
    JSON.stringify({
      bench: "push",
      server: runs[0]?.server,
      rows: ROWS,
      database: BENCH_DATABASE,
      runs: runs.map((run) => ({
        batch: run.batch,
        push_changes_per_s: Math.round((ROWS / run.pushMs) * 1000),
        push_over_best: round(run.pushMs / best),
        http_share: round(run.pushHttpMs / run.pushMs),
        store_share: round(run.storeMs.total() / run.pushMs),
        store_share_by_call: Object.fromEntries([...run.storeMs.ms].filter(([, ms]) => ms >= 1).map(([name, ms]) => [name, round(ms / run.pushMs)])),
        sync_over_push: round(run.syncMs / run.pushMs),
      })),
    }),
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "push-bench-"));
  try {
    const stub: Upload[] = [];
    for (const batch of BATCHES) stub.push(await upload(batch, dir, "stub"));
    report(stub, `push bench: ${ROWS} offline creates, SQLite client, a stub server answering at once (the client alone)`);
    if (benchStubOnly()) return;
    const real: Upload[] = [];
    for (const batch of BATCHES) real.push(await upload(batch, dir, "real"));
    report(real, `push bench: ${ROWS} offline creates, SQLite client, the server on ${BENCH_DATABASE} in this process`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
