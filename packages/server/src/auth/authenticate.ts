import { AppError } from "@repensar/contracts";
import { schema } from "@repensar/db";
import { eq } from "drizzle-orm";
import type { ServerContext } from "../context";
import type { Principal } from "./principal";
import { isAccessTokenRevoked } from "./revocation";
import { verifyAccessToken, type AccessClaims } from "./tokens";

/** `last_seen_at` is written at most this often per device, not on every request. */
const LAST_SEEN_RESOLUTION_MS = 30_000;

export interface AuthenticatedRequest {
  principal: Principal;
  claims: AccessClaims;
}

/** The Bearer token of `Authorization`; 401 UNAUTHORIZED when there is none. */
export function bearerToken(request: Request): string {
  const header = request.headers.get("authorization");
  if (!header) throw new AppError("UNAUTHORIZED");
  const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new AppError("TOKEN_INVALID", "The Authorization header must be 'Bearer <access token>'.");
  return match[1];
}

/** Verifies the request's access token and checks it was not revoked; also answers its claims. */
export async function authenticateAccessToken(ctx: ServerContext, request: Request): Promise<AuthenticatedRequest> {
  const claims = await verifyAccessToken(ctx, bearerToken(request));
  if (await isAccessTokenRevoked(ctx, claims)) throw new AppError("TOKEN_REVOKED");
  return { principal: principalOf(claims), claims };
}

/**
 * Who sent the request, proven by its Bearer access token: signature, algorithm, issuer,
 * audience and expiry verified; logout, device and family revocations checked (PostgreSQL when
 * the cache cannot answer). 401 `UNAUTHORIZED` / `TOKEN_INVALID` / `TOKEN_EXPIRED` / `TOKEN_REVOKED`.
 */
export async function authenticateRequest(ctx: ServerContext, request: Request): Promise<Principal> {
  return (await authenticateAccessToken(ctx, request)).principal;
}

export function principalOf(claims: AccessClaims): Principal {
  return {
    userId: claims.sub,
    orgId: claims.org,
    role: claims.role,
    deviceId: claims.did,
    tokenId: claims.jti,
    expiresAt: new Date(claims.exp * 1000),
  };
}

export interface ActiveDevice {
  deviceId: string;
  userId: string;
  orgId: string;
  deviceName: string;
}

/**
 * The caller's registered, active device `deviceId`, its `last_seen_at` touched. 403
 * `DEVICE_INACTIVE` ("Device not registered or inactive") when the device is unknown, revoked,
 * another user's, or not the one the caller's token is bound to: the source's clients stop
 * syncing and sign out on it.
 */
export async function requireActiveDevice(ctx: ServerContext, principal: Principal, deviceId: string): Promise<ActiveDevice> {
  const { devices } = schema;
  const [device] = await ctx.database.db
    .select({
      deviceId: devices.deviceId,
      userId: devices.userId,
      orgId: devices.orgId,
      deviceName: devices.deviceName,
      isActive: devices.isActive,
      lastSeenAt: devices.lastSeenAt,
    })
    .from(devices)
    .where(eq(devices.deviceId, deviceId))
    .limit(1);
  if (
    !device ||
    !device.isActive ||
    device.userId !== principal.userId ||
    device.orgId !== principal.orgId ||
    (principal.deviceId !== null && principal.deviceId !== deviceId)
  ) {
    throw new AppError("DEVICE_INACTIVE");
  }
  const now = ctx.now();
  if (!device.lastSeenAt || now.getTime() - device.lastSeenAt.getTime() >= LAST_SEEN_RESOLUTION_MS) {
    await ctx.database.db.update(devices).set({ lastSeenAt: now }).where(eq(devices.deviceId, deviceId));
  }
  return { deviceId: device.deviceId, userId: device.userId, orgId: device.orgId, deviceName: device.deviceName };
}
