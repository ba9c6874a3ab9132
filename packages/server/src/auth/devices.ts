import {
  AppError,
  DevicePlatformSchema,
  DeviceTypeSchema,
  type Device,
  type DeviceRegisterRequest,
  type DeviceRegisterResponse,
  type DeviceRevokeResponse,
} from "@repensar/contracts";
import { schema } from "@repensar/db";
import { and, asc, eq, ilike, isNull, or, sql, type SQL } from "drizzle-orm";
import { AuditEvent, recordAudit } from "../audit";
import type { ServerContext } from "../context";
import { isUniqueViolation } from "./accounts";
import type { Principal } from "./principal";
import { cacheDeviceRevocation, cacheFamilyRevocation } from "./revocation";
import type { AccessClaims } from "./tokens";

type DeviceRow = typeof schema.devices.$inferSelect;

export function deviceView(row: DeviceRow): Device {
  return {
    device_id: row.deviceId,
    device_name: row.deviceName,
    // The columns are written only through the request enums; parse rather than trust a cast.
    device_type: DeviceTypeSchema.parse(row.deviceType),
    platform: DevicePlatformSchema.parse(row.platform),
    os_version: row.osVersion,
    app_version: row.appVersion,
    last_sync_at: row.lastSyncAt?.toISOString() ?? null,
    last_seen_at: row.lastSeenAt?.toISOString() ?? null,
    is_active: row.isActive,
    registered_at: row.registeredAt.toISOString(),
    user_id: row.userId,
  };
}

/**
 * `POST /sync/device/register`: registers the device, or updates it when it is the caller's
 * already. 403 `DEVICE_OWNED_BY_OTHER` when the id is another user's. A revoked device comes back
 * only for a token issued after the revocation (a fresh sign-in), never for one it ended.
 */
export async function registerDevice(
  ctx: ServerContext,
  principal: Principal,
  claims: Pick<AccessClaims, "iat" | "fam">,
  input: DeviceRegisterRequest,
  ipAddress: string | null,
): Promise<DeviceRegisterResponse> {
  try {
    return await upsertDevice(ctx, principal, claims, input, ipAddress);
  } catch (error) {
    // Two first registrations of one id raced; the loser now finds the row and decides again.
    if (isUniqueViolation(error)) return upsertDevice(ctx, principal, claims, input, ipAddress);
    throw error;
  }
}

async function upsertDevice(
  ctx: ServerContext,
  principal: Principal,
  claims: Pick<AccessClaims, "iat" | "fam">,
  input: DeviceRegisterRequest,
  ipAddress: string | null,
): Promise<DeviceRegisterResponse> {
  if (principal.deviceId !== null && principal.deviceId !== input.device_id) {
    throw new AppError("FORBIDDEN", "This access token is bound to another device.");
  }
  const { devices, refreshTokenFamilies: families } = schema;
  const now = ctx.now();
  const result = await ctx.database.db.transaction(async (tx) => {
    const [before] = await tx.select().from(devices).where(eq(devices.deviceId, input.device_id)).limit(1).for("update");
    if (before && before.userId !== principal.userId) throw new AppError("DEVICE_OWNED_BY_OTHER");
    if (before && !before.isActive && before.revokedAt && claims.iat * 1000 <= before.revokedAt.getTime()) {
      throw new AppError("DEVICE_INACTIVE", "This device was revoked; sign in again to register it.");
    }
    const fields = {
      deviceName: input.device_name,
      deviceType: input.device_type,
      platform: input.platform,
      osVersion: input.os_version ?? null,
      appVersion: input.app_version ?? null,
      pushToken: input.push_token ?? null,
      isActive: true,
      lastSeenAt: now,
    };
    const [row] = before
      ? await tx.update(devices).set(fields).where(eq(devices.deviceId, input.device_id)).returning()
      : await tx
          .insert(devices)
          .values({ deviceId: input.device_id, userId: principal.userId, orgId: principal.orgId, registeredAt: now, ...fields })
          .returning();
    if (!row) throw new Error("The device upsert returned no row");
    // The sign-in that registers a device is bound to it from now on: revoking the device ends it.
    if (claims.fam) {
      await tx
        .update(families)
        .set({ deviceId: input.device_id })
        .where(and(eq(families.id, claims.fam), eq(families.userId, principal.userId), isNull(families.deviceId)));
    }
    await recordAudit(tx, {
      eventType: AuditEvent.DeviceRegistered,
      orgId: principal.orgId,
      userId: principal.userId,
      deviceId: input.device_id,
      details: {
        device_name: input.device_name,
        device_type: input.device_type,
        platform: input.platform,
        app_version: input.app_version ?? null,
        ...(before ? { updated: true, reactivated: !before.isActive } : {}),
      },
      ipAddress,
    });
    return { row, existed: before !== undefined };
  });
  return {
    device_id: result.row.deviceId,
    registered_at: result.row.registeredAt.toISOString(),
    last_sync_at: result.row.lastSyncAt?.toISOString() ?? null,
    message: result.existed ? "Device updated successfully" : "Device registered successfully",
  };
}

/** Who may see or revoke which devices: one user's, or (for an admin) the whole organization's. */
export interface DeviceScope {
  orgId: string;
  /** Null: every user of the organization. */
  userId: string | null;
}

/** A member's own devices; an admin's whole organization when `wholeOrganization`. */
export function deviceScope(principal: Principal, wholeOrganization: boolean): DeviceScope {
  return { orgId: principal.orgId, userId: wholeOrganization && principal.role === "admin" ? null : principal.userId };
}

function scopeCondition(scope: DeviceScope): SQL | undefined {
  return scope.userId === null ? eq(schema.devices.orgId, scope.orgId) : and(eq(schema.devices.orgId, scope.orgId), eq(schema.devices.userId, scope.userId));
}

export interface DeviceFilters {
  includeInactive?: boolean | undefined;
  /** Only active (true) or only revoked (false) devices; overrides `includeInactive`. */
  active?: boolean | undefined;
  platform?: string | undefined;
  /** Matches the device's name or id. */
  search?: string | undefined;
  userId?: string | undefined;
}

export async function listDevices(ctx: ServerContext, scope: DeviceScope, filters: DeviceFilters = {}): Promise<{ devices: Device[]; total: number }> {
  const { devices } = schema;
  const conditions: (SQL | undefined)[] = [scopeCondition(scope)];
  if (filters.active !== undefined) conditions.push(eq(devices.isActive, filters.active));
  else if (!filters.includeInactive) conditions.push(eq(devices.isActive, true));
  if (filters.platform) conditions.push(eq(devices.platform, filters.platform));
  if (filters.userId) conditions.push(eq(devices.userId, filters.userId));
  if (filters.search) {
    const pattern = `%${filters.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(or(ilike(devices.deviceName, pattern), ilike(devices.deviceId, pattern)));
  }
  const rows = await ctx.database.db
    .select()
    .from(devices)
    .where(and(...conditions))
    .orderBy(asc(devices.registeredAt), asc(devices.deviceId));
  return { devices: rows.map(deviceView), total: rows.length };
}

/** One device within `scope`; 404 `DEVICE_NOT_FOUND` otherwise (another organization's device is not named). */
export async function findDevice(ctx: ServerContext, scope: DeviceScope, deviceId: string): Promise<DeviceRow> {
  const [row] = await ctx.database.db
    .select()
    .from(schema.devices)
    .where(and(eq(schema.devices.deviceId, deviceId), scopeCondition(scope)))
    .limit(1);
  if (!row) throw new AppError("DEVICE_NOT_FOUND");
  return row;
}

/**
 * Revokes a device: it can no longer sync, every sign-in bound to it is ended, and every access
 * token bound to it is refused from the next request on, on every instance.
 */
export async function revokeDevice(
  ctx: ServerContext,
  principal: Principal,
  scope: DeviceScope,
  deviceId: string,
  ipAddress: string | null,
): Promise<DeviceRevokeResponse> {
  const { devices, refreshTokenFamilies: families } = schema;
  const now = ctx.now();
  const outcome = await ctx.database.db.transaction(async (tx) => {
    const [device] = await tx
      .select()
      .from(devices)
      .where(and(eq(devices.deviceId, deviceId), scopeCondition(scope)))
      .limit(1)
      .for("update");
    if (!device) throw new AppError("DEVICE_NOT_FOUND");
    if (!device.isActive) return { device, families: [] as string[], revoked: false };
    await tx.update(devices).set({ isActive: false, revokedAt: now }).where(eq(devices.deviceId, deviceId));
    const ended = await tx
      .update(families)
      .set({ revokedAt: now, revokedReason: "device_revoked" })
      .where(and(eq(families.deviceId, deviceId), isNull(families.revokedAt)))
      .returning({ id: families.id });
    await recordAudit(tx, {
      eventType: AuditEvent.DeviceRevoked,
      orgId: device.orgId,
      userId: principal.userId,
      deviceId,
      details: { device_name: device.deviceName, owner_user_id: device.userId, sessions_ended: ended.length },
      ipAddress,
    });
    return { device, families: ended.map((f) => f.id), revoked: true };
  });
  if (outcome.revoked) {
    await cacheDeviceRevocation(ctx, deviceId, now);
    for (const familyId of outcome.families) await cacheFamilyRevocation(ctx, familyId, now);
  }
  return { message: `Device '${outcome.device.deviceName}' revoked successfully`, device_id: deviceId };
}

/** Per entity type sync positions of a device, for the console. */
export async function deviceSyncStates(ctx: ServerContext, deviceId: string) {
  return ctx.database.db
    .select({
      entityType: schema.deviceSyncState.entityType,
      lastSyncedAt: schema.deviceSyncState.lastSyncedAt,
      lastSyncedVersion: schema.deviceSyncState.lastSyncedVersion,
    })
    .from(schema.deviceSyncState)
    .where(eq(schema.deviceSyncState.deviceId, deviceId))
    .orderBy(asc(schema.deviceSyncState.entityType));
}

/** Recent audit events of a device, newest first. */
export async function deviceAuditEvents(ctx: ServerContext, orgId: string, deviceId: string, limit = 20) {
  return ctx.database.db
    .select({
      id: schema.auditLog.id,
      eventType: schema.auditLog.eventType,
      userId: schema.auditLog.userId,
      details: schema.auditLog.details,
      ipAddress: schema.auditLog.ipAddress,
      createdAt: schema.auditLog.createdAt,
    })
    .from(schema.auditLog)
    .where(and(eq(schema.auditLog.deviceId, deviceId), eq(schema.auditLog.orgId, orgId)))
    .orderBy(sql`${schema.auditLog.createdAt} desc, ${schema.auditLog.id} desc`)
    .limit(limit);
}
