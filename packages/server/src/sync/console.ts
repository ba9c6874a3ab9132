import { DeviceId, EntityTypeSchema, isEntityType, Text, Timestamp, type SyncStatusResponse } from "@repensar/contracts";
import { schema } from "@repensar/db";
import { and, count, desc, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Principal } from "../auth/principal";
import type { ServerContext } from "../context";
import { entitySql, isoInstant } from "./entity-store";
import { syncStatus } from "./status";

/*
 * What the console reads, over the same tables the sync API writes. Members see their own
 * activity and devices; admins their whole organization's. Every query is scoped by the
 * caller's organization.
 */

const Instant = Timestamp;

export const AuditQuery = z.object({
  user_id: z.uuid().optional(),
  device_id: DeviceId.optional(),
  event_type: Text.min(1).max(64).optional(),
  from: Instant.optional(),
  to: Instant.optional(),
  limit: z.number().int().min(1).max(500).default(50),
  offset: z.number().int().min(0).default(0),
});
export type AuditQuery = z.input<typeof AuditQuery>;

export interface AuditEntryView {
  id: number;
  event_type: string;
  user_id: string | null;
  device_id: string | null;
  details: Record<string, unknown>;
  ip_address: string | null;
  created_at: string;
}

/** The audit log, newest first, filtered by user, device, event and time; `total` counts every match. */
export async function queryAuditLog(
  ctx: ServerContext,
  principal: Principal,
  query: AuditQuery,
): Promise<{ entries: AuditEntryView[]; total: number }> {
  const q = AuditQuery.parse(query);
  const a = schema.auditLog;
  const where = and(
    eq(a.orgId, principal.orgId),
    principal.role === "admin" ? undefined : eq(a.userId, principal.userId),
    q.user_id === undefined ? undefined : eq(a.userId, q.user_id),
    q.device_id === undefined ? undefined : eq(a.deviceId, q.device_id),
    q.event_type === undefined ? undefined : eq(a.eventType, q.event_type),
    q.from === undefined ? undefined : gte(a.createdAt, new Date(q.from)),
    q.to === undefined ? undefined : lt(a.createdAt, new Date(q.to)),
  );
  const { db } = ctx.database;
  const [rows, totals] = await Promise.all([
    db.select().from(a).where(where).orderBy(desc(a.createdAt), desc(a.id)).limit(q.limit).offset(q.offset),
    db.select({ total: count() }).from(a).where(where),
  ]);
  return {
    entries: rows.map((r) => ({
      id: r.id,
      event_type: r.eventType,
      user_id: r.userId,
      device_id: r.deviceId,
      details: r.details,
      ip_address: r.ipAddress,
      created_at: r.createdAt.toISOString(),
    })),
    total: Number(totals[0]?.total ?? 0),
  };
}

export const ActivityQuery = z.object({
  bucket: z.enum(["hour", "day"]).default("day"),
  from: Instant,
  to: Instant,
  device_id: DeviceId.optional(),
});
export type ActivityQuery = z.input<typeof ActivityQuery>;

export interface ActivityPoint {
  /** Start of the hour or day (UTC). */
  bucket: string;
  pulls: number;
  pushes: number;
  changes_pulled: number;
  changes_pushed: number;
  conflicts: number;
}

/** Sync counts over time for charts, from the SYNC_COMPLETED events; empty buckets are left out. */
export async function syncActivity(ctx: ServerContext, principal: Principal, query: ActivityQuery): Promise<ActivityPoint[]> {
  const q = ActivityQuery.parse(query);
  const unit = q.bucket === "hour" ? sql.raw(`'hour'`) : sql.raw(`'day'`);
  const rows = await ctx.database.rows<{
    bucket: string;
    pulls: number;
    pushes: number;
    changes_pulled: number;
    changes_pushed: number;
    conflicts: number;
  }>(
    // Sums as float8: exact to 2^53 and a plain number on both drivers, where int would overflow.
    sql`select to_char(date_trunc(${unit}, created_at at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as bucket,
               count(*) filter (where details->>'direction' = 'pull')::float8 as pulls,
               count(*) filter (where details->>'direction' = 'push')::float8 as pushes,
               coalesce(sum((details->>'changes_pulled')::bigint), 0)::float8 as changes_pulled,
               coalesce(sum((details->>'changes_pushed')::bigint), 0)::float8 as changes_pushed,
               coalesce(sum((details->>'conflicts')::bigint), 0)::float8 as conflicts
        from audit_log
        where org_id = ${principal.orgId} and event_type = 'SYNC_COMPLETED'
          and created_at >= ${q.from}::timestamptz and created_at < ${q.to}::timestamptz
          ${principal.role === "admin" ? sql`` : sql`and user_id = ${principal.userId}`}
          ${q.device_id === undefined ? sql`` : sql`and device_id = ${q.device_id}`}
        group by 1
        order by 1`,
  );
  return rows.map((r) => ({ ...r }));
}

export const EntityBrowseQuery = z.object({
  entity_type: EntityTypeSchema,
  include_deleted: z.boolean().default(false),
  /** Matches the id or any text field, case-insensitively. */
  search: Text.min(1).max(200).optional(),
  limit: z.number().int().min(1).max(500).default(50),
  offset: z.number().int().min(0).default(0),
});
export type EntityBrowseQuery = z.input<typeof EntityBrowseQuery>;

export interface EntityRowView {
  entity_id: string;
  version: number;
  deleted_at: string | null;
  modified_by_device_id: string | null;
  data: Record<string, unknown>;
}

/** One type's rows of the organization, newest change first; tombstones on request. */
export async function browseEntities(
  ctx: ServerContext,
  principal: Principal,
  query: EntityBrowseQuery,
): Promise<{ rows: EntityRowView[]; total: number }> {
  const q = EntityBrowseQuery.parse(query);
  if (!isEntityType(q.entity_type)) return { rows: [], total: 0 };
  const e = entitySql(q.entity_type);
  const filters: SQL[] = [sql`t.org_id = ${principal.orgId}`];
  if (!q.include_deleted) filters.push(sql`t.deleted_at is null`);
  if (q.search !== undefined) {
    const pattern = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    filters.push(sql`(t.id ilike ${pattern} or ${sql.raw(e.ownJson)}::text ilike ${pattern})`);
  }
  const where = sql.join(filters, sql` and `);
  const [rows, totals] = await Promise.all([
    ctx.database.rows<{ entity_id: string; version: number; deleted_at: string | null; modified_by_device_id: string | null; data: Record<string, unknown> }>(
      sql`select t.id as entity_id, t.version, ${sql.raw(isoInstant("t.deleted_at"))} as deleted_at, t.modified_by_device_id,
                 ${sql.raw(e.wireJson)} as data
          from ${e.table} t where ${where}
          order by t.updated_at desc, t.id
          limit ${q.limit} offset ${q.offset}`,
    ),
    ctx.database.rows<{ n: number }>(sql`select count(*)::int as n from ${e.table} t where ${where}`),
  ]);
  return { rows, total: Number(totals[0]?.n ?? 0) };
}

/** The dashboard's table: at most this many devices, the most recently seen first. */
export const MAX_STATUS_DEVICES = 100;

/**
 * `syncStatus` for the devices the caller may see (members: their own; admins: the
 * organization's), active ones seen most recently first, at most MAX_STATUS_DEVICES of them, so
 * the dashboard's cost is bounded whatever the organization's size.
 */
export async function deviceSyncStatuses(ctx: ServerContext, principal: Principal): Promise<SyncStatusResponse[]> {
  const d = schema.devices;
  const devices = await ctx.database.db
    .select({ deviceId: d.deviceId })
    .from(d)
    .where(and(eq(d.orgId, principal.orgId), principal.role === "admin" ? undefined : eq(d.userId, principal.userId)))
    .orderBy(desc(d.isActive), sql`${d.lastSeenAt} desc nulls last`, d.deviceName, d.deviceId)
    .limit(MAX_STATUS_DEVICES);
  return Promise.all(devices.map((device) => syncStatus(ctx, principal, device.deviceId)));
}
