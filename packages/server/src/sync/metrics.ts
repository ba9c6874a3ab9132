import { createHash, timingSafeEqual } from "node:crypto";
import { AppError } from "@repensar/contracts";
import { sql } from "drizzle-orm";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ServerContext } from "../context";

/**
 * What a request was, for the latency histogram: the sync operations apart (an empty poll apart from
 * a pull that returned changes), every `/auth/*` route as `auth`, anything else `other`.
 */
export type Operation = "push" | "pull" | "empty_poll" | "auth" | "events" | "other";

/** Seconds; fine at the low end, where an empty poll (≤ 5 ms) and a small push live. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type RequestLabels = "operation" | "method" | "route" | "status";

/**
 * This app's metrics, exposed at `/metrics` in the Prometheus text format. One registry per app
 * (several apps in one process, as in tests, count apart); the process's own metrics (CPU,
 * memory, event-loop lag, GC) are the process's, collected once and written after them.
 */
export interface SyncMetrics {
  readonly registry: Registry;
  readonly requestDuration: Histogram<RequestLabels>;
  readonly pulls: Counter;
  readonly pushes: Counter;
  readonly changesPulled: Counter;
  /** Changes received by pushes, whatever became of them. */
  readonly changesPushed: Counter;
  readonly changesApplied: Counter;
  readonly changesConflicted: Counter;
  /** Pushed changes that met a concurrent edit and were merged field by field (three-way) instead of conflicting. */
  readonly changesMerged: Counter;
  readonly changesFailed: Counter;
  readonly conflictsResolved: Counter;
  /** Open `GET /sync/events` streams. */
  readonly eventStreams: Gauge;
  /** The whole exposition: this app's metrics, then the process's. */
  render(): Promise<string>;
  readonly contentType: string;
}

let processRegistry: Registry | undefined;

/** The process's default metrics, registered once however many apps the process runs. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The metrics of a new app, reading the pool and Redis state from its services when scraped. */
export function createSyncMetrics(ctx: StoreServices): SyncMetrics {
  const registry = new Registry();
  const registers = [registry];
  const counter = (name: string, help: string) => new Counter({ name, help, registers });
  const metrics: Omit<SyncMetrics, "render" | "contentType"> = {
    registry,
    requestDuration: new Histogram({
      name: "repensar_http_request_duration_seconds",
      help: "REST requests by operation (push, pull, empty_poll, auth, events, other), route pattern, method and status: time to the response's head.",
      labelNames: ["operation", "method", "route", "status"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    pulls: counter("repensar_sync_pulls_total", "Pull requests answered."),
    pushes: counter("repensar_sync_pushes_total", "Push requests answered."),
    changesPulled: counter("repensar_sync_changes_pulled_total", "Changes handed out by pulls."),
    changesPushed: counter("repensar_sync_changes_pushed_total", "Changes received by pushes."),
    changesApplied: counter("repensar_sync_changes_applied_total", "Pushed changes applied."),
    changesConflicted: counter("repensar_sync_changes_conflict_total", "Pushed changes that met a conflict."),
    changesMerged: counter("repensar_sync_changes_merged_total", "Pushed changes merged field by field with a concurrent edit."),
    changesFailed: counter("repensar_sync_changes_failed_total", "Pushed changes refused."),
    conflictsResolved: counter("repensar_sync_conflicts_resolved_total", "Conflicts resolved."),
    eventStreams: new Gauge({ name: "repensar_sync_event_streams", help: "Open GET /sync/events streams.", registers }),
  };
  registerStoreGauges(ctx, registry);
  return {
    ...metrics,
    contentType: registry.contentType,
    render: async () => `${await registry.metrics()}\n${await processMetrics().metrics()}`,
  };
}

/** How long a scrape waits for the database's connection counts before answering without them. */
const DATABASE_PROBE_MS = 1_000;

type StoreServices = Pick<ServerContext, "config" | "database" | "kv">;

function registerStoreGauges(ctx: StoreServices, registry: Registry): void {
  const registers = [registry];
  new Gauge({
    name: "repensar_db_pool_max",
    help: "Connections this instance's database pool may open (DATABASE_POOL_SIZE; 1 on the embedded database).",
    registers,
    collect() {
      this.set(ctx.database.driver === "postgres" ? ctx.config.databasePoolSize : 1);
    },
  });
  if (ctx.database.driver === "postgres") {
    new Gauge({
      name: "repensar_db_connections",
      help: "Connections to this database opened by Repensar Sync (every instance), by state, from pg_stat_activity.",
      labelNames: ["state"],
      registers,
      async collect() {
        this.reset();
        const rows = await withTimeout(
          ctx.database.rows<{ state: string | null; n: number }>(
            sql`select coalesce(state, 'unknown') as state, count(*)::int as n from pg_stat_activity
                where application_name = 'repensar-sync' and datname = current_database() group by 1`,
          ),
          DATABASE_PROBE_MS,
        ).catch(() => undefined);
        for (const row of rows ?? []) this.set({ state: row.state ?? "unknown" }, Number(row.n));
      },
    });
  }
  if (ctx.kv.kind === "redis") {
    new Gauge({
      name: "repensar_redis_connected",
      help: "1 while the Redis connection for commands is ready, 0 while it is down or reconnecting.",
      registers,
      collect() {
        this.set(ctx.kv.connected?.() === true ? 1 : 0);
      },
    });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The metrics of the app that owns `ctx`: kept on the context, not in a module's map, so every
 * bundle that holds a copy of this module (the console's route handlers, say) counts into the
 * same registry.
 */
export function metricsFor(ctx: ServerContext): SyncMetrics {
  return ctx.metrics;
}

export interface LatencySummary {
  /** Requests observed. */
  count: number;
  /** Seconds, estimated from the histogram's buckets as Prometheus' `histogram_quantile` does; null before any request. */
  p50: number | null;
  p99: number | null;
}

/** p50 and p99 of the operations' latencies since start, successful answers (2xx) only. */
export async function latencySummary(ctx: ServerContext, operations: readonly Operation[]): Promise<Record<string, LatencySummary>> {
  const { values } = await metricsFor(ctx).requestDuration.get();
  const out: Record<string, LatencySummary> = {};
  for (const operation of operations) {
    const buckets = new Map<number, number>();
    for (const v of values) {
      if (v.metricName !== "repensar_http_request_duration_seconds_bucket") continue;
      const labels: Record<string, string | number | undefined> = v.labels;
      if (labels["operation"] !== operation || !String(labels["status"]).startsWith("2")) continue;
      const le = labels["le"] === "+Inf" ? Number.POSITIVE_INFINITY : Number(labels["le"]);
      buckets.set(le, (buckets.get(le) ?? 0) + v.value);
    }
    const sorted = [...buckets].sort(([a], [b]) => a - b);
    const count = sorted.at(-1)?.[1] ?? 0;
    out[operation] = { count, p50: quantile(0.5, sorted), p99: quantile(0.99, sorted) };
  }
  return out;
}

/**
 * The q-quantile of cumulative buckets `[upper bound, count]` (ascending, ending with +Inf), by
 * linear interpolation inside the bucket it falls in; in the +Inf bucket, the highest finite bound.
 */
export function quantile(q: number, buckets: readonly (readonly [number, number])[]): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lowerBound;
      if (count === lowerCount) return bound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

/** With METRICS_TOKEN set, `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>`: 401 otherwise. */
export function requireMetricsToken(ctx: ServerContext, request: Request): void {
  const expected = ctx.config.metricsToken;
  if (expected === undefined) return;
  const sent = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  if (sent === undefined) throw new AppError("UNAUTHORIZED", "The metrics need a bearer token (METRICS_TOKEN).");
  // Compared as digests: equal lengths, and no timing that tells how much of the token matched.
  const digest = (text: string) => createHash("sha256").update(text).digest();
  if (!timingSafeEqual(digest(sent), digest(expected))) throw new AppError("UNAUTHORIZED", "The metrics token is not valid.");
}
