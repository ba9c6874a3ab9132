import { AppError, isEntityType, schemaFingerprints, type SyncStatusResponse } from "@repensar/contracts";
import { schema } from "@repensar/db";
import { and, eq, sql } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import type { ServerContext } from "../context";
import { unsentRows } from "./pull";
import { parseStoredCursor } from "./token";

/**
 * `GET /sync/status?device_id=`: the source's shape. `needs_sync` is true exactly when the device
 * never synced, has unresolved conflicts, or the server holds settled changes past its cursor in
 * a type it syncs; the last two are answered by one query of index probes.
 * Members may ask about their own devices, admins about any in their organization.
 */
export async function syncStatus(ctx: ServerContext, principal: Principal, deviceId: string): Promise<SyncStatusResponse> {
  const { db } = ctx.database;
  const d = schema.devices;
  const [device] = await db
    .select()
    .from(d)
    .where(
      and(
        eq(d.deviceId, deviceId),
        eq(d.orgId, principal.orgId),
        principal.role === "admin" ? undefined : eq(d.userId, principal.userId),
      ),
    );
  if (!device) throw new AppError("DEVICE_NOT_FOUND", `No device '${deviceId}' is visible to you.`);
  const states = await db.select().from(schema.deviceSyncState).where(eq(schema.deviceSyncState.deviceId, deviceId));

  const probes = states.flatMap((state) => {
    const stored = parseStoredCursor(state.cursor);
    if (!stored || !isEntityType(state.entityType)) return [];
    return [sql`exists (select 1 ${unsentRows(state.entityType, stored.cursor, principal.orgId)})`];
  });
  const behind = probes.length > 0 ? sql.join(probes, sql` or `) : sql`false`;
  const [check] = await ctx.database.rows<{ pending: number; behind: boolean }>(
    sql`select (select count(*)::int from sync_conflicts
                where device_id = ${deviceId} and org_id = ${principal.orgId} and resolved_at is null) as pending,
               (${behind}) as behind`,
  );
  const pending = Number(check?.pending ?? 0);
  const neverSynced = device.lastSyncAt === null || probes.length === 0;
  return {
    device: {
      device_id: device.deviceId,
      device_name: device.deviceName,
      device_type: device.deviceType as SyncStatusResponse["device"]["device_type"],
      platform: device.platform as SyncStatusResponse["device"]["platform"],
      last_sync_at: device.lastSyncAt?.toISOString() ?? null,
      is_active: device.isActive,
    },
    sync_states: states
      .map((state) => ({
        entity_type: state.entityType,
        last_synced_at: state.lastSyncedAt?.toISOString() ?? null,
        last_synced_version: state.lastSyncedVersion,
        total_entities: null,
      }))
      .sort((a, b) => a.entity_type.localeCompare(b.entity_type)),
    pending_conflicts: pending,
    needs_sync: neverSynced || pending > 0 || check?.behind === true,
    last_successful_sync: device.lastSyncAt?.toISOString() ?? null,
    schema_fingerprints: { ...schemaFingerprints() },
  };
}
