import { z } from "zod";
import { DeviceId, MessageResponse, ResponseId, Text, Timestamp, queryBoolean } from "./common";

export const DeviceType = { Android: "android", Ios: "ios", Desktop: "desktop", Web: "web" } as const;
export type DeviceType = (typeof DeviceType)[keyof typeof DeviceType];
export const DeviceTypeSchema = z.enum([DeviceType.Android, DeviceType.Ios, DeviceType.Desktop, DeviceType.Web]);

export const DevicePlatform = {
  Android: "android",
  Ios: "ios",
  Macos: "macos",
  Windows: "windows",
  Linux: "linux",
  Web: "web",
} as const;
export type DevicePlatform = (typeof DevicePlatform)[keyof typeof DevicePlatform];
export const DevicePlatformSchema = z.enum([
  DevicePlatform.Android,
  DevicePlatform.Ios,
  DevicePlatform.Macos,
  DevicePlatform.Windows,
  DevicePlatform.Linux,
  DevicePlatform.Web,
]);

/**
 * The source's desktop example sends Node's `process.platform` ("darwin", "win32"); those are
 * read as the platform they name.
 */
const NODE_PLATFORMS: Readonly<Record<string, DevicePlatform>> = { darwin: "macos", win32: "windows" };
const RequestPlatform = z.preprocess(
  (value) => (typeof value === "string" && Object.hasOwn(NODE_PLATFORMS, value) ? NODE_PLATFORMS[value] : value),
  DevicePlatformSchema,
);

/** `POST /sync/device/register`: registers a device, or updates it when already registered. */
export const DeviceRegisterRequest = z.object({
  device_id: DeviceId,
  device_name: Text.trim().min(1).max(200),
  device_type: DeviceTypeSchema,
  platform: RequestPlatform,
  os_version: Text.max(100).nullable().optional(),
  app_version: Text.max(100).nullable().optional(),
  /** FCM / APNS token. */
  push_token: Text.max(4096).nullable().optional(),
});
export type DeviceRegisterRequest = z.infer<typeof DeviceRegisterRequest>;

export const DeviceRegisterResponse = z.object({
  device_id: z.string(),
  registered_at: Timestamp,
  last_sync_at: Timestamp.nullable(),
  message: z.string(),
});
export type DeviceRegisterResponse = z.infer<typeof DeviceRegisterResponse>;

/** `GET /sync/device/list` query. */
export const DeviceListQuery = z.object({
  /** Include revoked devices. */
  include_inactive: queryBoolean(false),
});
export type DeviceListQuery = z.infer<typeof DeviceListQuery>;

export const Device = z.object({
  device_id: z.string(),
  device_name: z.string(),
  device_type: DeviceTypeSchema,
  platform: DevicePlatformSchema,
  os_version: z.string().nullable(),
  app_version: z.string().nullable(),
  last_sync_at: Timestamp.nullable(),
  last_seen_at: Timestamp.nullable(),
  is_active: z.boolean(),
  registered_at: Timestamp,
  /** Ours: the owner, for admins listing their organization's devices. */
  user_id: ResponseId.optional(),
});
export type Device = z.infer<typeof Device>;

export const DeviceListResponse = z.object({
  devices: z.array(Device),
  total: z.number().int().min(0),
});
export type DeviceListResponse = z.infer<typeof DeviceListResponse>;

/** `POST /sync/device/{device_id}/revoke`. */
export const DeviceRevokeResponse = MessageResponse.extend({
  device_id: z.string(),
});
export type DeviceRevokeResponse = z.infer<typeof DeviceRevokeResponse>;
