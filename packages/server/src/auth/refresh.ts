import { createHash, createHmac, randomUUID } from "node:crypto";
import { AppError } from "@repensar/contracts";
import { schema, type Executor } from "@repensar/db";
import { and, eq, isNull, sql } from "drizzle-orm";
import { AuditEvent, recordAudit } from "../audit";
import type { ServerContext } from "../context";
import { cacheFamilyRevocation } from "./revocation";

/** A rotated token presented again this soon is a client retry (a lost response), not theft. */
export const REFRESH_RETRY_GRACE_MS = 10_000;

const PREFIX = "rt1";

/*
 * A refresh token is `rt1.<device>.<mac>`: `<device>` is the bound device id (base64url; empty
 * when unbound) and `<mac>` is HMAC(TOKEN_SECRET, family, generation, device). Only its SHA-256
 * is stored. Because the token of generation n+1 is derived, not drawn, every request that
 * rotates generation n computes the same successor: parallel refreshes and a retry converge on
 * one token without keeping a secret in the database.
 *
 * The device travels in the token because a client may sign in with a `device_id` before it
 * registers that device, when the family cannot reference it yet; registering links them.
 *
 *   generation n ──refresh──► n rotated, n+1 issued
 *   n again ≤10 s after ─────► the same n+1 (while n+1 is unused)
 *   n again otherwise ───────► family revoked, REFRESH_TOKEN_REUSED
 */

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

function deriveToken(ctx: ServerContext, familyId: string, generation: number, deviceId: string | null): string {
  const mac = createHmac("sha256", ctx.keys.tokenSecret).update(`refresh\n${familyId}\n${generation}\n${deviceId ?? ""}`).digest("base64url");
  return `${PREFIX}.${deviceId === null ? "" : Buffer.from(deviceId).toString("base64url")}.${mac}`;
}

/** The device a refresh token is bound to, read from the token; undefined when it is not one of ours. */
function deviceOfToken(token: string): string | null | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== PREFIX || !/^[A-Za-z0-9_-]*$/.test(parts[1] ?? "")) return undefined;
  return parts[1] ? Buffer.from(parts[1], "base64url").toString("utf8") : null;
}

export interface FamilyStart {
  userId: string;
  orgId: string;
  /** The device the sign-in binds to, when the client named one. */
  deviceId: string | null;
  /** Whether that device is registered already (the family can then reference it). */
  deviceRegistered: boolean;
}

/** Starts a family (one sign-in) and answers its first refresh token. */
export async function startRefreshFamily(ctx: ServerContext, start: FamilyStart, on: Executor = ctx.database.db): Promise<{ familyId: string; refreshToken: string }> {
  const familyId = randomUUID();
  const now = ctx.now();
  await on.insert(schema.refreshTokenFamilies).values({
    id: familyId,
    userId: start.userId,
    orgId: start.orgId,
    deviceId: start.deviceRegistered ? start.deviceId : null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + ctx.config.refreshTokenTtlDays * 86_400_000),
  });
  const refreshToken = deriveToken(ctx, familyId, 0, start.deviceId);
  await on.insert(schema.refreshTokens).values({ tokenHash: hashToken(refreshToken), familyId, generation: 0, createdAt: now });
  return { familyId, refreshToken };
}

export interface Rotation {
  familyId: string;
  userId: string;
  orgId: string;
  deviceId: string | null;
  refreshToken: string;
}

/**
 * Exchanges a refresh token for its successor. 401 `REFRESH_TOKEN_INVALID` when unknown,
 * expired, revoked or its device was revoked since the sign-in; 401 `REFRESH_TOKEN_REUSED` (and
 * the whole family revoked) when a rotated token comes back outside the retry grace.
 */
export async function rotateRefreshToken(ctx: ServerContext, token: string, ipAddress: string | null): Promise<Rotation> {
  const tokenDevice = deviceOfToken(token);
  if (tokenDevice === undefined) throw new AppError("REFRESH_TOKEN_INVALID");
  const db = ctx.database.db;
  const { refreshTokens, refreshTokenFamilies: families, devices } = schema;
  const tokenHash = hashToken(token);
  const [found] = await db
    .select({
      generation: refreshTokens.generation,
      familyId: families.id,
      userId: families.userId,
      orgId: families.orgId,
      familyDevice: families.deviceId,
      createdAt: families.createdAt,
      expiresAt: families.expiresAt,
      revokedAt: families.revokedAt,
    })
    .from(refreshTokens)
    .innerJoin(families, eq(families.id, refreshTokens.familyId))
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .limit(1);
  const now = ctx.now();
  if (!found || found.revokedAt || found.expiresAt.getTime() <= now.getTime()) throw new AppError("REFRESH_TOKEN_INVALID");
  const deviceId = found.familyDevice ?? tokenDevice;

  let deviceRegistered = false;
  if (deviceId !== null) {
    const [device] = await db
      .select({ userId: devices.userId, revokedAt: devices.revokedAt })
      .from(devices)
      .where(eq(devices.deviceId, deviceId))
      .limit(1);
    // A device revoked after this sign-in ends the sign-in, linked to it or not.
    if (device && (device.userId !== found.userId || (device.revokedAt && device.revokedAt.getTime() >= found.createdAt.getTime()))) {
      await revokeFamily(ctx, found.familyId, "device_revoked");
      throw new AppError("REFRESH_TOKEN_INVALID");
    }
    deviceRegistered = device !== undefined;
  }

  const nextGeneration = found.generation + 1;
  const successor = deriveToken(ctx, found.familyId, nextGeneration, deviceId);
  const rotated = await db.transaction(async (tx) => {
    const claimed = await tx
      .update(refreshTokens)
      .set({ rotatedAt: now })
      .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.rotatedAt)))
      .returning({ tokenHash: refreshTokens.tokenHash });
    if (claimed.length === 0) return false;
    await tx
      .insert(refreshTokens)
      .values({ tokenHash: hashToken(successor), familyId: found.familyId, generation: nextGeneration, createdAt: now })
      .onConflictDoNothing();
    if (deviceRegistered && found.familyDevice === null) {
      await tx.update(families).set({ deviceId }).where(and(eq(families.id, found.familyId), isNull(families.deviceId)));
    }
    return true;
  });

  if (!rotated) {
    // Rotated already: by a parallel request a moment ago (its row lock made us wait), or earlier.
    const [state] = await ctx.database.rows<{ rotated_at: Date | string | null; successor_rotated: boolean | null }>(sql`
      select t.rotated_at, s.rotated_at is not null as successor_rotated
      from refresh_tokens t
      left join refresh_tokens s on s.family_id = t.family_id and s.generation = t.generation + 1
      where t.token_hash = ${tokenHash}
    `);
    const rotatedAt = state?.rotated_at ? new Date(state.rotated_at) : null;
    const withinGrace = rotatedAt !== null && now.getTime() - rotatedAt.getTime() <= REFRESH_RETRY_GRACE_MS;
    if (!withinGrace || state?.successor_rotated !== false) {
      await revokeFamily(ctx, found.familyId, "reuse_detected", async (tx) => {
        await recordAudit(tx, {
          eventType: AuditEvent.RefreshReuseDetected,
          orgId: found.orgId,
          userId: found.userId,
          deviceId,
          details: { family_id: found.familyId, generation: found.generation },
          ipAddress,
        });
      });
      throw new AppError("REFRESH_TOKEN_REUSED");
    }
  }
  return { familyId: found.familyId, userId: found.userId, orgId: found.orgId, deviceId, refreshToken: successor };
}

/**
 * Revokes a family (its refresh tokens and the access tokens issued in it), in PostgreSQL and
 * then in the cache. `alongside` runs in the same transaction, e.g. to audit. Answers whether
 * this call revoked it (false when it was revoked already).
 */
export async function revokeFamily(
  ctx: ServerContext,
  familyId: string,
  reason: string,
  alongside?: (tx: Executor) => Promise<void>,
): Promise<boolean> {
  const now = ctx.now();
  const revoked = await ctx.database.db.transaction(async (tx) => {
    const rows = await tx
      .update(schema.refreshTokenFamilies)
      .set({ revokedAt: now, revokedReason: reason })
      .where(and(eq(schema.refreshTokenFamilies.id, familyId), isNull(schema.refreshTokenFamilies.revokedAt)))
      .returning({ id: schema.refreshTokenFamilies.id });
    if (rows.length > 0 && alongside) await alongside(tx);
    return rows.length > 0;
  });
  if (revoked) await cacheFamilyRevocation(ctx, familyId, now);
  return revoked;
}

/** The family of a refresh token, when the token is known. */
export async function familyOfRefreshToken(ctx: ServerContext, token: string): Promise<{ familyId: string; userId: string } | undefined> {
  const [row] = await ctx.database.db
    .select({ familyId: schema.refreshTokenFamilies.id, userId: schema.refreshTokenFamilies.userId })
    .from(schema.refreshTokens)
    .innerJoin(schema.refreshTokenFamilies, eq(schema.refreshTokenFamilies.id, schema.refreshTokens.familyId))
    .where(eq(schema.refreshTokens.tokenHash, hashToken(token)))
    .limit(1);
  return row;
}
