import { DeviceId, DevicePlatformSchema, Text, type Device } from "@repensar/contracts";
import { schema } from "@repensar/db";
import { inArray } from "drizzle-orm";
import { z } from "zod";
import { deviceAuditEvents, deviceScope, deviceSyncStates, deviceView, findDevice, listDevices, revokeDevice } from "../../auth/devices";
import type { ServerContext } from "../../context";
import { router, userProcedure } from "../init";

export const DeviceFilterInput = z
  .object({
    platform: DevicePlatformSchema.optional(),
    /** true: active only; false: revoked only. */
    active: z.boolean().optional(),
    /** With `active` unset: include revoked devices. */
    includeInactive: z.boolean().optional(),
    /** Part of the device's name or id. */
    search: Text.trim().max(200).optional(),
    /** Admins: one member's devices. */
    userId: z.uuid().optional(),
  })
  .default({});

const DeviceInput = z.object({ deviceId: DeviceId });

export interface DeviceOwner {
  id: string;
  email: string;
  name: string;
}

export type ConsoleDevice = Device & { owner: DeviceOwner | null };

async function withOwners(ctx: ServerContext, devices: Device[]): Promise<ConsoleDevice[]> {
  const ids = [...new Set(devices.map((d) => String(d.user_id)))];
  const owners =
    ids.length === 0
      ? []
      : await ctx.database.db
          .select({ id: schema.users.id, email: schema.users.email, name: schema.users.name })
          .from(schema.users)
          .where(inArray(schema.users.id, ids));
  const byId = new Map(owners.map((o) => [o.id, o]));
  return devices.map((d) => ({ ...d, owner: byId.get(String(d.user_id)) ?? null }));
}

/** Admins see and revoke their organization's devices; members their own. */
export const devicesRouter = router({
  list: userProcedure.input(DeviceFilterInput).query(async ({ ctx, input }) => {
    const listed = await listDevices(ctx.ctx, deviceScope(ctx.principal, true), input);
    return { devices: await withOwners(ctx.ctx, listed.devices), total: listed.total };
  }),

  /** One device with its sync position per entity type and its recent audit events. */
  get: userProcedure.input(DeviceInput).query(async ({ ctx, input }) => {
    const row = await findDevice(ctx.ctx, deviceScope(ctx.principal, true), input.deviceId);
    const [device] = await withOwners(ctx.ctx, [deviceView(row)]);
    const [states, events] = await Promise.all([deviceSyncStates(ctx.ctx, row.deviceId), deviceAuditEvents(ctx.ctx, row.orgId, row.deviceId)]);
    return {
      device,
      syncStates: states.map((s) => ({ ...s, lastSyncedAt: s.lastSyncedAt?.toISOString() ?? null })),
      recentAudit: events.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })),
    };
  }),

  revoke: userProcedure
    .input(DeviceInput)
    .mutation(({ ctx, input }) => revokeDevice(ctx.ctx, ctx.principal, deviceScope(ctx.principal, true), input.deviceId, ctx.clientAddress)),
});
