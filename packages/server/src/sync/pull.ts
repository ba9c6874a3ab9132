import {
  AppError,
  isEntityType,
  isStorableInstant,
  isoInstantMs,
  MIN_INSTANT_MS,
  type EntityChange,
  type EntityType,
  type PullResponse,
} from "@repensar/contracts";
import { sql, type SQL } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import { AuditEvent } from "../audit";
import type { ServerContext } from "../context";
import { entitySql, isoInstant } from "./entity-store";
import { metricsFor } from "./metrics";
import { fingerprintsOf, skippedField } from "./schema";
import {
  decodeSyncToken,
  encodeSyncToken,
  looksLikeSyncToken,
  storedCursor,
  type SyncTokenPayload,
  type TypeCursor,
} from "./token";

/**
 * How far before an ISO-8601 `since` we start reading. `updated_at` is the writer's transaction
 * start, so a transaction that ran for up to this long before committing is still picked up; the
 * cost is resending a few minutes of changes once, after which the client holds a real token.
 */
export const ISO_SINCE_MARGIN_MS = 10 * 60 * 1000;

export interface PullInput {
  device_id: string;
  entity_types: readonly EntityType[];
  since?: string | null | undefined;
  limit: number;
  /** Requested names that are not entity types here; said back in the response. */
  skipped_entity_types?: readonly string[];
}

/** Where each requested type starts, from `since`. */
function startingCursors(ctx: ServerContext, principal: Principal, input: PullInput): {
  cursors: Map<EntityType, TypeCursor>;
  pulledBefore: number;
} {
  const cursors = new Map<EntityType, TypeCursor>();
  const since = input.since ?? null;
  const fromStart = (old: TypeCursor["old"]): TypeCursor => ({ txid: "0", seq: "0", old });
  if (since === null) {
    for (const type of input.entity_types) cursors.set(type, fromStart("live"));
    return { cursors, pulledBefore: 0 };
  }
  if (!looksLikeSyncToken(since)) {
    const instant = parseIsoInstant(since);
    if (instant === undefined) {
      throw new AppError("INVALID_SYNC_TOKEN", "`since` is neither a sync token, an ISO-8601 timestamp, nor null.");
    }
    // The margin may reach before year 1, which PostgreSQL cannot compare with: start there instead.
    const from = Math.max(instant - ISO_SINCE_MARGIN_MS, MIN_INSTANT_MS);
    for (const type of input.entity_types) cursors.set(type, fromStart(from));
    return { cursors, pulledBefore: 0 };
  }
  const payload = decodeSyncToken(since, ctx.keys.tokenSecret, {
    userId: principal.userId,
    orgId: principal.orgId,
    epoch: ctx.database.epoch,
    now: ctx.now(),
    retentionDays: ctx.config.tombstoneRetentionDays,
  });
  // A type the token does not cover starts with a full sync of that type.
  for (const type of input.entity_types) cursors.set(type, payload.c[type] ?? fromStart("live"));
  return { cursors, pulledBefore: payload.n ?? 0 };
}

/** An ISO-8601 `since` PostgreSQL can compare with (the contract refuses the others, 422). */
function parseIsoInstant(value: string): number | undefined {
  const ms = isoInstantMs(value);
  return ms !== undefined && isStorableInstant(ms) ? ms : undefined;
}

const SNAPSHOT_XMIN = sql.raw(`pg_snapshot_xmin(pg_current_snapshot())`);

/**
 * The rows of one type the holder of `cursor` has not been handed yet and may be now: past the
 * position, written by a transaction that finished before this snapshot's xmin, and, while a
 * full or ISO-`since` sync is under way, passing its filter for rows older than its horizon.
 * As a `from ... where ...` over alias `t`.
 */
export function unsentRows(type: EntityType, cursor: TypeCursor, orgId: string): SQL {
  const e = entitySql(type);
  const horizon = cursor.horizon === undefined ? SNAPSHOT_XMIN : sql`${cursor.horizon}::xid8`;
  let oldRows = sql``;
  if (cursor.old === "live") oldRows = sql` and (t.txid >= ${horizon} or t.deleted_at is null)`;
  else if (typeof cursor.old === "number") {
    oldRows = sql` and (t.txid >= ${horizon} or t.updated_at >= ${new Date(cursor.old).toISOString()}::timestamptz)`;
  }
  return sql`from ${e.table} t
             where t.org_id = ${orgId}
               and (t.txid, t.seq) > (${cursor.txid}::xid8, ${cursor.seq}::bigint)
               and t.txid < ${SNAPSHOT_XMIN}${oldRows}`;
}

/**
 * One type's slice of the page: unsent rows in cursor order, `limit + 1` of them. Each row comes
 * as the change the wire carries, already rendered as JSON text by PostgreSQL (`json`, not
 * `jsonb`, so its keys keep their order), which the response splices in without parsing it.
 */
function typePageQuery(type: EntityType, cursor: TypeCursor, orgId: string, limit: number): SQL {
  const e = entitySql(type);
  // The page's keys first, then the JSON of just those rows, each looked up by its key (the
  // `limit 1` keeps the planner from flattening the lookup into a join it could hash): however
  // the planner reaches the keys (without statistics it may sort every unsent row), it renders
  // no more than a page.
  return sql`(select ${type}::text as entity_type, k.txid::text as txid, k.seq::text as seq,
                json_build_object(
                  'entity_type', ${type}::text,
                  'entity_id', t.id,
                  'operation', case when t.deleted_at is not null then 'DELETE' when t.version = 1 then 'CREATE' else 'UPDATE' end,
                  'data', case when t.deleted_at is not null then '{}'::json else ${sql.raw(e.wireJsonText)} end,
                  'version', t.version,
                  'modified_at', ${sql.raw(isoInstant("t.updated_at"))},
                  'modified_by_device_id', t.modified_by_device_id
                )::text as change
              from (select t.id, t.txid, t.seq ${unsentRows(type, cursor, orgId)} order by t.txid, t.seq limit ${limit + 1}) k
              cross join lateral (select * from ${e.table} r where r.org_id = ${orgId} and r.id = k.id limit 1) t
              order by k.txid, k.seq)`;
}

interface PageRow extends Record<string, unknown> {
  xmin: string;
  entity_type: string | null;
  txid: string | null;
  seq: string | null;
  /** The `EntityChange`, as JSON text. */
  change: string | null;
}

/** A page as the wire carries it, with its changes still as JSON text. */
export interface RenderedPage {
  /** Each an `EntityChange` as JSON. */
  changes: string[];
  sync_token: string;
  has_more: boolean;
}

/** `POST /sync/pull` as the response body itself: the changes are spliced in as PostgreSQL rendered them. */
export async function pullChangesBody(ctx: ServerContext, principal: Principal, input: PullInput): Promise<{ text: string; changes: number }> {
  const page = await pullPage(ctx, principal, input);
  return { changes: page.changes.length, text: renderPage(page, input) };
}

function renderPage(page: RenderedPage, input: PullInput): string {
  return `{"changes":[${page.changes.join(",")}],"sync_token":${JSON.stringify(page.sync_token)},"has_more":${page.has_more},"total_changes":${page.changes.length},"schema_fingerprints":${JSON.stringify(fingerprintsOf(input.entity_types))}${skippedField(input.skipped_entity_types)}}`;
}

/** `POST /sync/pull` as an object (the console and tests; REST sends `pullChangesBody`). */
export async function pullChanges(ctx: ServerContext, principal: Principal, input: PullInput): Promise<PullResponse> {
  const page = await pullPage(ctx, principal, input);
  return {
    changes: page.changes.map((text) => JSON.parse(text) as EntityChange),
    sync_token: page.sync_token,
    has_more: page.has_more,
    total_changes: page.changes.length,
    schema_fingerprints: fingerprintsOf(input.entity_types),
    ...(input.skipped_entity_types?.length ? { skipped_entity_types: [...input.skipped_entity_types] } : {}),
  };
}

/**
 * `POST /sync/pull`: one page of changes per requested type, read in one snapshot by one query.
 *
 * Only rows whose writer finished before the snapshot's xmin are read, so a transaction still in
 * flight (whose rows may carry a lower position than rows already committed) is never passed over:
 * its rows are picked up by a later page once it has finished.
 */
async function pullPage(ctx: ServerContext, principal: Principal, input: PullInput): Promise<RenderedPage> {
  const { cursors, pulledBefore } = startingCursors(ctx, principal, input);
  const types = [...cursors.keys()];
  const slices = sql.join(
    types.map((type) => typePageQuery(type, cursors.get(type) ?? { txid: "0", seq: "0" }, principal.orgId, input.limit)),
    sql` union all `,
  );
  const { database } = ctx;
  // One statement, so one snapshot: the xmin it reports and every type's rows agree, without
  // the three round trips of an explicit repeatable-read transaction.
  const rows = await database.rows<PageRow>(
    sql`select x.xmin, p.* from (select ${SNAPSHOT_XMIN}::text as xmin) x left join lateral (${slices}) p on true`,
  );
  const xmin = rows[0]?.xmin ?? "0";

  const byType = new Map<EntityType, PageRow[]>();
  for (const row of rows) {
    if (row.entity_type === null || !isEntityType(row.entity_type)) continue;
    const list = byType.get(row.entity_type) ?? [];
    list.push(row);
    byType.set(row.entity_type, list);
  }

  const changes: string[] = [];
  const next: Partial<Record<EntityType, TypeCursor>> = {};
  const lastSeq: Partial<Record<EntityType, string>> = {};
  let hasMore = false;
  for (const type of types) {
    const cursor = cursors.get(type) ?? { txid: "0", seq: "0" };
    const found = byType.get(type) ?? [];
    const page = found.slice(0, input.limit);
    for (const row of page) if (row.change !== null) changes.push(row.change);
    const last = page[page.length - 1];
    if (last?.seq) lastSeq[type] = last.seq;
    if (found.length > input.limit) {
      hasMore = true;
      next[type] = continueAfter(cursor, last?.txid ?? cursor.txid, last?.seq ?? cursor.seq, xmin);
    } else {
      // Nothing more below xmin: every row a later writer can produce is at or above it.
      next[type] = { txid: xmin, seq: "0" };
    }
  }

  const now = ctx.now();
  const issuedAt = Math.floor(now.getTime() / 1000);
  const pulled = pulledBefore + changes.length;
  const payload: SyncTokenPayload = {
    v: 1,
    u: principal.userId,
    o: principal.orgId,
    e: database.epoch,
    t: issuedAt,
    c: next,
    ...(hasMore ? { n: pulled } : {}),
  };
  const completedWith = !hasMore && pulled > 0 ? pulled : 0;
  const resumed = input.since !== null && input.since !== undefined && looksLikeSyncToken(input.since);
  if (!(resumed && changes.length === 0 && completedWith === 0) || devicePullIsStale(ctx, input.device_id, now)) {
    await recordDevicePull(ctx, principal, input.device_id, { cursors: next, lastSeq, issuedAt, now, completedWith });
    markDevicePull(ctx, input.device_id, now);
  }
  metricsFor(ctx).pulls.inc();
  metricsFor(ctx).changesPulled.inc(changes.length);
  return { changes, sync_token: encodeSyncToken(payload, ctx.keys.tokenSecret), has_more: hasMore };
}

/**
 * The position after a full page. A full or ISO-`since` sync keeps its horizon fixed at its
 * first page's xmin: a later page's xmin would be past deletes that commit between pages, whose
 * tombstones would then be filtered as "old" and never sent. Past the horizon the filter is over.
 */
function continueAfter(cursor: TypeCursor, txid: string, seq: string, xmin: string): TypeCursor {
  if (cursor.old === undefined) return { txid, seq };
  const horizon = cursor.horizon ?? xmin;
  if (BigInt(txid) >= BigInt(horizon)) return { txid, seq };
  return { txid, seq, horizon, old: cursor.old };
}

/**
 * An empty poll on a token moves the device's stored position only past transactions that wrote
 * none of its rows, which changes nothing a later pull or push token would do with it. So a device
 * polling every few seconds writes its state (and `last_sync_at`) at most this often per instance;
 * a pull that hands out changes, a full sync or one that ends a sequence always writes it.
 */
const EMPTY_POLL_STATE_INTERVAL_MS = 15_000;
const MAX_TRACKED_DEVICES = 50_000;
const lastRecorded = new WeakMap<ServerContext, Map<string, number>>();

function recordedOf(ctx: ServerContext): Map<string, number> {
  let map = lastRecorded.get(ctx);
  if (!map) lastRecorded.set(ctx, (map = new Map()));
  return map;
}

function devicePullIsStale(ctx: ServerContext, deviceId: string, now: Date): boolean {
  const at = recordedOf(ctx).get(deviceId);
  return at === undefined || now.getTime() - at >= EMPTY_POLL_STATE_INTERVAL_MS || now.getTime() < at;
}

function markDevicePull(ctx: ServerContext, deviceId: string, now: Date): void {
  const map = recordedOf(ctx);
  map.delete(deviceId);
  if (map.size >= MAX_TRACKED_DEVICES) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(deviceId, now.getTime());
}

/** The device's per-type position (what push answers as its token), and when it last synced. */
async function recordDevicePull(
  ctx: ServerContext,
  principal: Principal,
  deviceId: string,
  pull: {
    cursors: Partial<Record<EntityType, TypeCursor>>;
    lastSeq: Partial<Record<EntityType, string>>;
    issuedAt: number;
    now: Date;
    /** Changes handed out by a pull sequence that just ended; 0 while it goes on. */
    completedWith: number;
  },
): Promise<void> {
  const { cursors, lastSeq, issuedAt, now, completedWith } = pull;
  const states = Object.entries(cursors).map(([entityType, cursor]) => ({
    entity_type: entityType,
    version: isEntityType(entityType) ? (lastSeq[entityType] ?? "0") : "0",
    cursor: storedCursor(cursor, issuedAt),
  }));
  const at = now.toISOString();
  // A pull sequence that just ended is audited by the same statement.
  const audit =
    completedWith > 0
      ? sql`, audited as (
            insert into audit_log (org_id, user_id, device_id, event_type, details)
            select ${principal.orgId}::uuid, ${principal.userId}::uuid, device_id, ${AuditEvent.SyncCompleted},
                   ${JSON.stringify({ direction: "pull", changes_pulled: completedWith, changes_pushed: 0, conflicts: 0 })}::jsonb
            from d
            returning 1
          )`
      : sql``;
  // One statement, so one round trip and its own transaction. Bookkeeping, not data: a crash that
  // loses the last moments of it leaves an older position, which only makes a later pull resend,
  // so its commit need not wait for the disk (`synchronous_commit` is read when it commits).
  await ctx.database.rows(
    sql`with nowait as (select set_config('synchronous_commit', 'off', true)),
          d as (
            update devices set last_sync_at = ${at}::timestamptz, last_seen_at = ${at}::timestamptz
            where device_id = ${deviceId} and org_id = ${principal.orgId} and exists (select 1 from nowait)
            returning device_id
          )${audit}
          insert into device_sync_state (device_id, entity_type, last_synced_at, last_synced_version, cursor)
          select d.device_id, s.entity_type, ${at}::timestamptz, s.version, s.cursor
          from d cross join jsonb_to_recordset(${JSON.stringify(states)}::jsonb) as s(entity_type text, version bigint, cursor text)
          on conflict (device_id, entity_type) do update
            set last_synced_at = excluded.last_synced_at,
                last_synced_version = greatest(device_sync_state.last_synced_version, excluded.last_synced_version),
                cursor = excluded.cursor
          returning device_id`,
  );
}
