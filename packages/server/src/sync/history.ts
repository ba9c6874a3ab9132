import { sameValue } from "@repensar/conflict-engine";
import { AppError, entityDefinitions, EntityTypeSchema, FieldKind, isEntityType, Timestamp, type EntityType } from "@repensar/contracts";
import { type DatabaseHandle, type Executor } from "@repensar/db";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Principal } from "../auth/principal";
import { AuditEvent, recordAudit } from "../audit";
import type { ServerContext } from "../context";
import { completeRow, isoInstant, readEntity, writeEntity } from "./entity-store";
import { publishPoke } from "./events";
import { danglingReferences, loadReferences } from "./references";
import { withRetry } from "./retry";
import { validateForStorage } from "./validate";

/*
 * Every applied write of an entity row leaves a version in `entity_history`: the row's own fields
 * after the write and the names of the fields it changed. A batch writes its versions with one
 * statement, a stale UPDATE reads its base from here (one statement for a batch's stale updates),
 * and the console lists a row's versions and restores one as a new version.
 */

export type HistoryOperation = "CREATE" | "UPDATE" | "DELETE";

/** One version of a row, as a write leaves it. */
export interface HistoryEntry {
  type: EntityType;
  id: string;
  version: number;
  operation: HistoryOperation;
  changedFields: string[];
  /** The row's own fields after the write. */
  data: Record<string, unknown>;
  deleted: boolean;
  merged: boolean;
}

/** Who wrote a batch of versions. */
export interface HistoryWriter {
  orgId: string;
  userId: string | null;
  deviceId: string | null;
}

/**
 * The fields whose value differs between two states of a row's own fields; for a new row, the fields
 * it was created with a value for.
 */
export function changedFields(type: EntityType, before: Readonly<Record<string, unknown>> | null, after: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(entityDefinitions[type].fields).filter((name) => !sameValue(before?.[name] ?? null, after[name] ?? null));
}

/**
 * The own fields as the table renders them, so a version read back compares equal to the row it was
 * written as: instants as ISO-8601 UTC with milliseconds (as `isoInstant` renders them).
 */
function storedForm(type: EntityType, own: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...own };
  for (const [name, field] of Object.entries(entityDefinitions[type].fields)) {
    const value = out[name];
    if (field.kind === FieldKind.DateTime && typeof value === "string") {
      const instant = new Date(value);
      if (!Number.isNaN(instant.getTime())) out[name] = instant.toISOString();
    }
  }
  return out;
}

/** Writes versions in one statement, on the writer's transaction. */
export async function recordHistory(database: DatabaseHandle, tx: Executor, writer: HistoryWriter, entries: readonly HistoryEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((e) => ({
    entity_type: e.type,
    entity_id: e.id,
    version: e.version,
    operation: e.operation,
    changed_fields: e.changedFields,
    data: storedForm(e.type, e.data),
    deleted: e.deleted,
    merged: e.merged,
  }));
  // A version left by a row that was purged and made again under the same id is replaced.
  await database.rows(
    sql`insert into entity_history as h (org_id, entity_type, entity_id, version, operation, user_id, device_id, changed_fields, data, deleted, merged)
        select ${writer.orgId}, e.entity_type, e.entity_id, e.version, e.operation, ${writer.userId}, ${writer.deviceId},
               array(select jsonb_array_elements_text(e.changed_fields)), e.data, e.deleted, e.merged
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
             as e(entity_type text, entity_id text, version int, operation text, changed_fields jsonb, data jsonb, deleted boolean, merged boolean)
        on conflict (org_id, entity_type, entity_id, version) do update
          set operation = excluded.operation, user_id = excluded.user_id, device_id = excluded.device_id,
              changed_fields = excluded.changed_fields, data = excluded.data, deleted = excluded.deleted,
              merged = excluded.merged, created_at = excluded.created_at
        returning 1`,
    tx,
  );
}

/** A version of a row as history holds it. */
export interface StoredVersion {
  data: Record<string, unknown>;
  deleted: boolean;
  createdAt: string;
}

export const versionKey = (type: string, id: string, version: number): string => `${type}\u0000${id}\u0000${version}`;

/** Reads these versions of the organization's rows in one statement; a version history no longer holds is absent. */
export async function readVersions(
  database: DatabaseHandle,
  on: Executor,
  orgId: string,
  wanted: readonly { type: EntityType; id: string; version: number }[],
): Promise<Map<string, StoredVersion>> {
  const found = new Map<string, StoredVersion>();
  if (wanted.length === 0) return found;
  const keys = JSON.stringify(wanted.map((w) => ({ entity_type: w.type, entity_id: w.id, version: w.version })));
  const rows = await database.rows<{ entity_type: string; entity_id: string; version: number; data: Record<string, unknown>; deleted: boolean; created_at: string }>(
    sql`select h.entity_type, h.entity_id, h.version, h.data, h.deleted, ${sql.raw(isoInstant("h.created_at"))} as created_at
        from entity_history h
        join jsonb_to_recordset(${keys}::jsonb) as k(entity_type text, entity_id text, version int)
          on h.org_id = ${orgId} and h.entity_type = k.entity_type and h.entity_id = k.entity_id and h.version = k.version`,
    on,
  );
  for (const row of rows) {
    found.set(versionKey(row.entity_type, row.entity_id, Number(row.version)), { data: row.data, deleted: row.deleted, createdAt: row.created_at });
  }
  return found;
}

export const HistoryQuery = z.object({
  entity_type: EntityTypeSchema,
  entity_id: z.string().min(1).max(128),
  limit: z.number().int().min(1).max(500).default(100),
  offset: z.number().int().min(0).default(0),
});
export type HistoryQuery = z.input<typeof HistoryQuery>;

export type VersionView = {
  version: number;
  operation: HistoryOperation;
  changed_fields: string[];
  data: Record<string, unknown>;
  deleted: boolean;
  merged: boolean;
  user_id: string | null;
  user_name: string | null;
  device_id: string | null;
  device_name: string | null;
  created_at: string;
};

/** A row's versions, newest first, with who wrote each from which device; `total` counts them all. */
export async function listHistory(ctx: ServerContext, principal: Principal, query: HistoryQuery): Promise<{ versions: VersionView[]; total: number; current_version: number | null }> {
  const q = HistoryQuery.parse(query);
  const { database } = ctx;
  const [rows, totals, current] = await Promise.all([
    database.rows<VersionView>(
      sql`select h.version, h.operation, h.changed_fields, h.data, h.deleted, h.merged, h.user_id, u.name as user_name,
                 h.device_id, d.device_name, ${sql.raw(isoInstant("h.created_at"))} as created_at
          from entity_history h
          left join users u on u.id = h.user_id
          left join devices d on d.device_id = h.device_id and d.org_id = h.org_id
          where h.org_id = ${principal.orgId} and h.entity_type = ${q.entity_type} and h.entity_id = ${q.entity_id}
          order by h.version desc
          limit ${q.limit} offset ${q.offset}`,
    ),
    database.rows<{ n: number }>(
      sql`select count(*)::int as n from entity_history
          where org_id = ${principal.orgId} and entity_type = ${q.entity_type} and entity_id = ${q.entity_id}`,
    ),
    readEntity(database, database.db, q.entity_type, principal.orgId, q.entity_id),
  ]);
  return {
    versions: rows.map((r) => ({ ...r, version: Number(r.version) })),
    total: Number(totals[0]?.n ?? 0),
    current_version: current?.version ?? null,
  };
}

export const RestoreInput = z.object({
  entity_type: EntityTypeSchema,
  entity_id: z.string().min(1).max(128),
  version: z.number().int().min(1),
});
export type RestoreInput = z.infer<typeof RestoreInput>;

/**
 * Makes a past version the row's current state again, as a new version (a tombstone's version deletes
 * the row again; a live one brings a deleted row back). Audited; every device pulls it.
 */
export async function restoreVersion(ctx: ServerContext, principal: Principal, input: RestoreInput): Promise<{ version: number; restored_from: number }> {
  const { entity_type: type, entity_id: id, version } = RestoreInput.parse(input);
  if (!isEntityType(type)) throw new AppError("ENTITY_NOT_FOUND");
  const { database } = ctx;
  const written = await withRetry(() =>
    database.db.transaction(async (tx) => {
      const current = await readEntity(database, tx, type, principal.orgId, id, { lock: true });
      if (!current) throw new AppError("ENTITY_NOT_FOUND", `No ${type} '${id}' exists in your organization.`);
      const past = (await readVersions(database, tx, principal.orgId, [{ type, id, version }])).get(versionKey(type, id, version));
      if (!past) throw new AppError("ENTITY_NOT_FOUND", `Version ${version} of ${type} '${id}' is not in its history.`);
      // Checked against today's definition: a version written under older rules may no longer hold.
      const checked = validateForStorage(type, past.data, "full");
      if (!checked.ok) throw new AppError("VALIDATION_ERROR", checked.issues.map((issue) => ({ ...issue, loc: ["body", "data", ...issue.loc] })));
      const own = completeRow(type, checked.data);
      if (!past.deleted) {
        // References it sets anew must name live rows, as on push: the row a version named may be gone.
        const restored = { type, data: own };
        const dangling = danglingReferences(await loadReferences(database, tx, principal.orgId, [restored]), restored, () => undefined, current.own, ["body", "data"]);
        if (dangling) throw new AppError("VALIDATION_ERROR", dangling);
      }
      const next = current.version + 1;
      await writeEntity(database, tx, type, { orgId: principal.orgId, id, own, version: next, deviceId: principal.deviceId, deleted: past.deleted });
      await recordHistory(database, tx, { orgId: principal.orgId, userId: principal.userId, deviceId: principal.deviceId }, [
        {
          type,
          id,
          version: next,
          operation: past.deleted ? "DELETE" : "UPDATE",
          changedFields: changedFields(type, current.own, own),
          data: own,
          deleted: past.deleted,
          merged: false,
        },
      ]);
      await recordAudit(tx, {
        eventType: AuditEvent.EntityRestored,
        orgId: principal.orgId,
        userId: principal.userId,
        deviceId: principal.deviceId,
        details: { entity_type: type, entity_id: id, restored_from: version, version: next },
      });
      return next;
    }),
  );
  await publishPoke(ctx, principal.orgId, [type]);
  return { version: written, restored_from: version };
}

export const MergeCountQuery = z.object({ from: Timestamp, to: Timestamp });
export type MergeCountQuery = z.infer<typeof MergeCountQuery>;

/**
 * Stale changes the server merged by itself, and conflicts recorded, in `[from, to)`: the organization's
 * for an admin, a member's own devices' for a member.
 */
export async function countMerges(ctx: ServerContext, principal: Principal, query: MergeCountQuery): Promise<{ merged: number; conflicts: number }> {
  const q = MergeCountQuery.parse(query);
  const own =
    principal.role === "admin"
      ? sql`true`
      : sql`device_id in (select d.device_id from devices d where d.user_id = ${principal.userId} and d.org_id = ${principal.orgId})`;
  const [row] = await ctx.database.rows<{ merged: number; conflicts: number }>(
    sql`select
          (select count(*)::int from entity_history
            where org_id = ${principal.orgId} and merged and created_at >= ${q.from}::timestamptz and created_at < ${q.to}::timestamptz and ${own}) as merged,
          (select count(*)::int from sync_conflicts
            where org_id = ${principal.orgId} and created_at >= ${q.from}::timestamptz and created_at < ${q.to}::timestamptz and ${own}) as conflicts`,
  );
  return { merged: Number(row?.merged ?? 0), conflicts: Number(row?.conflicts ?? 0) };
}
