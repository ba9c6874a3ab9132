import { schema, type Executor } from "@repensar/db";
import { and, gt, isNotNull, sql } from "drizzle-orm";
import type { ServerContext } from "../context";
import type { AccessClaims } from "./tokens";

/**
 * Revocation: PostgreSQL is the source of truth, the key-value store (Redis) a cache of it.
 *
 * The cache holds only positive entries ("this is revoked"), so a miss means "not revoked" only
 * while the cache is known to be complete. A marker key says so: it is written after the cache
 * was filled from PostgreSQL, and is absent after Redis lost its data. Without the marker, or
 * when the store fails, checks read PostgreSQL. A revocation whose cache write fails removes the
 * marker as soon as the store answers again, so no instance trusts a cache that missed it; and
 * the marker expires now and then anyway, so even an instance that died before it could remove
 * it leaves a stale cache for a bounded time only.
 *
 *   check ─► store answers and marker present ─► cache entries decide
 *         └► otherwise ─────────────────────────► PostgreSQL decides (and the cache is refilled)
 */

/** After a store failure, skip it for this long rather than wait on it request after request. */
const STORE_BACKOFF_MS = 5_000;
/** Tokens issued before a device or family revocation can outlive it by at most their TTL plus skew. */
const MARGIN_MS = 60_000;
/** The cache is refilled from PostgreSQL at least this often. */
const COMPLETE_TTL_MS = 10 * 60_000;

const keyOf = {
  complete: (epoch: string) => `revocation:complete:${epoch}`,
  jti: (jti: string) => `revocation:jti:${jti}`,
  device: (deviceId: string) => `revocation:device:${deviceId}`,
  family: (familyId: string) => `revocation:family:${familyId}`,
};

interface CacheState {
  storeDownUntil: number;
  refill: Promise<void> | undefined;
  invalidation: Promise<void> | undefined;
}

const states = new WeakMap<ServerContext, CacheState>();

function stateOf(ctx: ServerContext): CacheState {
  let state = states.get(ctx);
  if (!state) {
    state = { storeDownUntil: 0, refill: undefined, invalidation: undefined };
    states.set(ctx, state);
  }
  return state;
}

interface RevocationFacts {
  jtiRevoked: boolean;
  /** When the token's device was last revoked, in ms; null when it never was. */
  deviceRevokedAtMs: number | null;
  familyRevoked: boolean;
}

/** Whether the verified access token was revoked: logged out, its device revoked, or its family revoked. */
export async function isAccessTokenRevoked(ctx: ServerContext, claims: AccessClaims): Promise<boolean> {
  const facts = (await factsFromCache(ctx, claims)) ?? (await factsFromDatabase(ctx, claims));
  if (facts.jtiRevoked || facts.familyRevoked) return true;
  // A device revocation ends the tokens issued up to it; a later sign-in on that device is new.
  // `iat` has second precision, so a token from the revocation's own second counts as before it.
  return facts.deviceRevokedAtMs !== null && claims.iat * 1000 <= facts.deviceRevokedAtMs;
}

async function factsFromCache(ctx: ServerContext, claims: AccessClaims): Promise<RevocationFacts | undefined> {
  const state = stateOf(ctx);
  if (Date.now() < state.storeDownUntil) return undefined;
  try {
    const [complete, jti, device, family] = await Promise.all([
      ctx.kv.get(keyOf.complete(ctx.database.epoch)),
      ctx.kv.get(keyOf.jti(claims.jti)),
      claims.did ? ctx.kv.get(keyOf.device(claims.did)) : Promise.resolve(null),
      claims.fam ? ctx.kv.get(keyOf.family(claims.fam)) : Promise.resolve(null),
    ]);
    if (complete === null) {
      startRefill(ctx);
      return undefined;
    }
    return { jtiRevoked: jti !== null, deviceRevokedAtMs: device === null ? null : Number(device), familyRevoked: family !== null };
  } catch (error) {
    storeFailed(ctx, error);
    return undefined;
  }
}

async function factsFromDatabase(ctx: ServerContext, claims: AccessClaims): Promise<RevocationFacts> {
  const [row] = await ctx.database.rows<{ jti_revoked: boolean; device_revoked_ms: number | string | null; family_revoked: boolean }>(sql`
    select
      exists (select 1 from revoked_access_tokens where jti = ${claims.jti}) as jti_revoked,
      (select floor(extract(epoch from revoked_at) * 1000)::float8 from devices where device_id = ${claims.did}) as device_revoked_ms,
      exists (select 1 from refresh_token_families where id = ${claims.fam}::uuid and revoked_at is not null) as family_revoked
  `);
  return {
    jtiRevoked: row?.jti_revoked === true,
    deviceRevokedAtMs: row?.device_revoked_ms === null || row?.device_revoked_ms === undefined ? null : Number(row.device_revoked_ms),
    familyRevoked: row?.family_revoked === true,
  };
}

function storeFailed(ctx: ServerContext, error: unknown): void {
  const state = stateOf(ctx);
  if (Date.now() >= state.storeDownUntil) ctx.log.warn("revocation cache unavailable; reading PostgreSQL", { error });
  state.storeDownUntil = Date.now() + STORE_BACKOFF_MS;
}

/** Fills the cache from PostgreSQL, then marks it complete. One refill at a time per process. */
function startRefill(ctx: ServerContext): void {
  const state = stateOf(ctx);
  if (state.refill) return;
  state.refill = refill(ctx)
    .catch((error: unknown) => storeFailed(ctx, error))
    .finally(() => {
      state.refill = undefined;
    });
}

async function refill(ctx: ServerContext): Promise<void> {
  const now = ctx.now().getTime();
  const horizon = new Date(now - ctx.config.accessTokenTtlSeconds * 1000 - MARGIN_MS);
  const db = ctx.database.db;
  const [tokens, devices, families] = await Promise.all([
    db
      .select({ jti: schema.revokedAccessTokens.jti, expiresAt: schema.revokedAccessTokens.expiresAt })
      .from(schema.revokedAccessTokens)
      .where(gt(schema.revokedAccessTokens.expiresAt, new Date(now))),
    db
      .select({ deviceId: schema.devices.deviceId, revokedAt: schema.devices.revokedAt })
      .from(schema.devices)
      .where(and(isNotNull(schema.devices.revokedAt), gt(schema.devices.revokedAt, horizon))),
    db
      .select({ id: schema.refreshTokenFamilies.id, revokedAt: schema.refreshTokenFamilies.revokedAt })
      .from(schema.refreshTokenFamilies)
      .where(and(isNotNull(schema.refreshTokenFamilies.revokedAt), gt(schema.refreshTokenFamilies.revokedAt, horizon))),
  ]);
  for (const t of tokens) await ctx.kv.set(keyOf.jti(t.jti), "1", t.expiresAt.getTime() - now);
  for (const d of devices) {
    if (d.revokedAt) await ctx.kv.set(keyOf.device(d.deviceId), String(d.revokedAt.getTime()), lingerMs(ctx, d.revokedAt, now));
  }
  for (const f of families) {
    if (f.revokedAt) await ctx.kv.set(keyOf.family(f.id), "1", lingerMs(ctx, f.revokedAt, now));
  }
  await ctx.kv.set(keyOf.complete(ctx.database.epoch), String(now), COMPLETE_TTL_MS);
}

/** How long a device or family revocation must stay cached: until every token issued before it has expired. */
function lingerMs(ctx: ServerContext, revokedAt: Date, now: number): number {
  return Math.max(1, revokedAt.getTime() + ctx.config.accessTokenTtlSeconds * 1000 + MARGIN_MS - now);
}

/**
 * Writes a revocation already committed to PostgreSQL into the cache. If the store fails, the
 * cache's completeness marker is removed once it answers again, so every instance reads
 * PostgreSQL (and refills) instead of trusting a cache that missed this revocation.
 */
async function cacheRevocation(ctx: ServerContext, key: string, value: string, ttlMs: number): Promise<void> {
  if (Date.now() < stateOf(ctx).storeDownUntil) {
    invalidateCacheEventually(ctx);
    return;
  }
  try {
    await ctx.kv.set(key, value, Math.max(1, ttlMs));
  } catch (error) {
    storeFailed(ctx, error);
    invalidateCacheEventually(ctx);
  }
}

function invalidateCacheEventually(ctx: ServerContext): void {
  const state = stateOf(ctx);
  if (state.invalidation) return;
  // Past the marker's own lifetime there is nothing left to remove.
  const giveUpAt = Date.now() + COMPLETE_TTL_MS;
  const attempt = async (): Promise<void> => {
    while (Date.now() < giveUpAt) {
      try {
        await ctx.kv.del(keyOf.complete(ctx.database.epoch));
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      }
    }
  };
  state.invalidation = attempt().finally(() => {
    state.invalidation = undefined;
  });
}

/** Records that an access token is revoked (logout), in PostgreSQL and then in the cache. */
export async function revokeAccessToken(
  ctx: ServerContext,
  token: { jti: string; userId: string; expiresAt: Date },
  on: Executor = ctx.database.db,
): Promise<void> {
  await on
    .insert(schema.revokedAccessTokens)
    .values({ jti: token.jti, userId: token.userId, expiresAt: token.expiresAt, revokedAt: ctx.now() })
    .onConflictDoNothing();
  await cacheRevocation(ctx, keyOf.jti(token.jti), "1", token.expiresAt.getTime() - ctx.now().getTime());
}

/** Caches a device revocation that PostgreSQL already holds (`devices.revoked_at`). */
export async function cacheDeviceRevocation(ctx: ServerContext, deviceId: string, revokedAt: Date): Promise<void> {
  await cacheRevocation(ctx, keyOf.device(deviceId), String(revokedAt.getTime()), lingerMs(ctx, revokedAt, ctx.now().getTime()));
}

/** Caches a family revocation that PostgreSQL already holds (`refresh_token_families.revoked_at`). */
export async function cacheFamilyRevocation(ctx: ServerContext, familyId: string, revokedAt: Date): Promise<void> {
  await cacheRevocation(ctx, keyOf.family(familyId), "1", lingerMs(ctx, revokedAt, ctx.now().getTime()));
}
