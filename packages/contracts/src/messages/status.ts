import { z } from "zod";
import { DeviceId, Timestamp } from "./common";
import { DevicePlatformSchema, DeviceTypeSchema } from "./devices";
import { SchemaFingerprints } from "./schema";

/** `GET /sync/status?device_id=...`. */
export const SyncStatusQuery = z.object({
  device_id: DeviceId,
});
export type SyncStatusQuery = z.infer<typeof SyncStatusQuery>;

export const EntitySyncState = z.object({
  entity_type: z.string(),
  last_synced_at: Timestamp.nullable(),
  last_synced_version: z.number().int().min(0).nullable(),
  total_entities: z.number().int().min(0).nullable(),
});
export type EntitySyncState = z.infer<typeof EntitySyncState>;

export const SyncStatusResponse = z.object({
  device: z.object({
    device_id: z.string(),
    device_name: z.string(),
    device_type: DeviceTypeSchema,
    platform: DevicePlatformSchema,
    last_sync_at: Timestamp.nullable(),
    is_active: z.boolean(),
  }),
  sync_states: z.array(EntitySyncState),
  pending_conflicts: z.number().int().min(0),
  /** True when the server holds changes this device has not pulled. */
  needs_sync: z.boolean(),
  last_successful_sync: Timestamp.nullable(),
  /** Fingerprint of every entity type's definition on this server; optional, as older servers omit it. */
  schema_fingerprints: SchemaFingerprints.optional(),
});
export type SyncStatusResponse = z.infer<typeof SyncStatusResponse>;
