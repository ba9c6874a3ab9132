import { schema, type Executor } from "@repensar/db";
import { and, gt, gte, isNotNull, sql } from "drizzle-orm";
import type { ServerContext } from "../context";
import type { AccessClaims } from "./tokens";

/**
 * Revocation: PostgreSQL is the source of truth. Each instance keeps the revocations still in
 * force in memory (its revocation set) and reads them from PostgreSQL by position, `revoked_at`:
 * every second those of the last minute, every minute all of them (which also drops the ones no
 * token can outlive any more). The minute of overlap covers a revocation whose transaction
 * committed late, or whose instance's clock runs a little behind; the cost is reading a minute's
 * revocations again, which is few rows on an index.
 *
 * A revocation made here enters this instance's set at once, is written to the shared store
 * (Redis) before it is answered, and is announced on its pub/sub so the other instances read
 * PostgreSQL at once. Redis is only the fast path: with it, every instance refuses the token on
 * its next request; an instance that cannot reach Redis, or whose write or announcement is lost,
 * still has the revocation enforced everywhere by the next read from PostgreSQL.
 *
 * A check trusts the set only while its last successful read began less than FRESH_MS ago;
 * otherwise (PostgreSQL slow or unreachable for the reader) it asks PostgreSQL itself. So every
 * instance enforces a revocation committed in PostgreSQL within FRESH_MS, whatever Redis does.
 *
 *   check ─► set read from PostgreSQL < FRESH_MS ago ─► the set decides ─┐
 *         └► otherwise ────────────────────────────────► PostgreSQL decides ┴─► not revoked? the shared store may still say so
 */

/** How often the set is read from PostgreSQL. */
const READ_EVERY_MS = 1_000;
/** The bound on how long a revocation committed anywhere can go unenforced here. */
export const FRESH_MS = 2_000;
/** How far back each read looks, past the previous one: late commits and clock skew. */
const OVERLAP_MS = 60_000;
/** How often the whole set is read again and pruned. */
const FULL_READ_EVERY_MS = 60_000;
/** Tokens issued before a device or family revocation can outlive it by at most their TTL plus skew. */
const MARGIN_MS = 60_000;
/** The pub/sub channel on which instances announce a revocation. */
export const REVOCATION_CHANNEL = "auth:revocations";
/** The shared store is asked at most this long: past it, the set (which is authoritative) decides. */
const STORE_WAIT_MS = 250;
/** A revocation's write to the shared store is waited on at most this long. */
const STORE_WRITE_WAIT_MS = 1_000;
/** After a store failure, skip it for this long rather than wait on it request after request. */
const STORE_BACKOFF_MS = 5_000;

const keyOf = {
  jti: (jti: string) => `revocation:jti:${jti}`,
  device: (deviceId: string) => `revocation:device:${deviceId}`,
  family: (familyId: string) => `revocation:family:${familyId}`,
};

interface RevocationSet {
  /** jti → when the token expires (ms). */
  tokens: Map<string, number>;
  /** device id → when it was last revoked (ms). */
  devices: Map<string, number>;
  /** family id → when it was revoked (ms). */
  families: Map<string, number>;
  /** When the last successful read from PostgreSQL began (process clock, ms); 0 before the first. */
  readStartedAt: number;
  lastFullReadAt: number;
  reading: Promise<void> | undefined;
  readAgain: boolean;
  failing: boolean;
  /** Until when (process clock, ms) the shared store is not asked, after it failed. */
  storeDownUntil: number;
  stopped: boolean;
  timer: NodeJS.Timeout | undefined;
  unsubscribe: (() => Promise<void>) | undefined;
}

const sets = new WeakMap<ServerContext, RevocationSet>();

/**
 * Starts keeping this instance's revocation set: the first read completes before it resolves,
 * then one a second, and one whenever another instance announces a revocation. Answers the stop.
 */
export async function startRevocationSync(ctx: ServerContext): Promise<() => Promise<void>> {
  const set: RevocationSet = {
    tokens: new Map(),
    devices: new Map(),
    families: new Map(),
    readStartedAt: 0,
    lastFullReadAt: 0,
    reading: undefined,
    readAgain: false,
    failing: false,
    storeDownUntil: 0,
    stopped: false,
    timer: undefined,
    unsubscribe: undefined,
  };
  sets.set(ctx, set);
  // Not waited on: an unreachable Redis must not hold up the start.
  void subscribe(ctx, set);
  await readNow(ctx, set);
  const tick = () => {
    if (set.stopped) return;
    void readNow(ctx, set).finally(() => {
      if (set.stopped) return;
      set.timer = setTimeout(tick, READ_EVERY_MS);
      set.timer.unref();
    });
  };
  set.timer = setTimeout(tick, READ_EVERY_MS);
  set.timer.unref();
  return async () => {
    set.stopped = true;
    if (set.timer) clearTimeout(set.timer);
    await set.reading;
    await set.unsubscribe?.().catch(() => {});
    sets.delete(ctx);
  };
}

async function subscribe(ctx: ServerContext, set: RevocationSet): Promise<void> {
  if (set.unsubscribe || set.stopped) return;
  try {
    set.unsubscribe = await ctx.kv.subscribe(REVOCATION_CHANNEL, () => void readNow(ctx, set));
  } catch (error) {
    // Only the fast path is lost; the reads every second still enforce every revocation.
    ctx.log.warn("revocation announcements unavailable; relying on reads from PostgreSQL", { error });
  }
}

/** One read at a time; a read asked for while one runs happens right after it. */
function readNow(ctx: ServerContext, set: RevocationSet): Promise<void> {
  if (set.reading) {
    set.readAgain = true;
    return set.reading;
  }
  set.reading = (async () => {
    do {
      set.readAgain = false;
      await readOnce(ctx, set);
    } while (set.readAgain && !set.stopped);
  })().finally(() => {
    set.reading = undefined;
  });
  return set.reading;
}

async function readOnce(ctx: ServerContext, set: RevocationSet): Promise<void> {
  if (set.stopped) return;
  const startedAt = Date.now();
  const full = startedAt - set.lastFullReadAt >= FULL_READ_EVERY_MS;
  const now = ctx.now().getTime();
  const horizon = new Date(now - ctx.config.accessTokenTtlSeconds * 1000 - MARGIN_MS);
  const since = full ? horizon : new Date(now - OVERLAP_MS);
  const { revokedAccessTokens: tokens, devices, refreshTokenFamilies: families } = schema;
  const db = ctx.database.db;
  try {
    const [revokedTokens, revokedDevices, revokedFamilies] = await Promise.all([
      db
        .select({ jti: tokens.jti, expiresAt: tokens.expiresAt })
        .from(tokens)
        .where(and(gt(tokens.expiresAt, new Date(now)), full ? undefined : gte(tokens.revokedAt, since))),
      db
        .select({ deviceId: devices.deviceId, revokedAt: devices.revokedAt })
        .from(devices)
        .where(and(isNotNull(devices.revokedAt), gte(devices.revokedAt, since))),
      db
        .select({ id: families.id, revokedAt: families.revokedAt })
        .from(families)
        .where(and(isNotNull(families.revokedAt), gte(families.revokedAt, since))),
    ]);
    for (const t of revokedTokens) set.tokens.set(t.jti, t.expiresAt.getTime());
    for (const d of revokedDevices) if (d.revokedAt) noteLatest(set.devices, d.deviceId, d.revokedAt.getTime());
    for (const f of revokedFamilies) if (f.revokedAt) set.families.set(f.id, f.revokedAt.getTime());
    if (full) {
      prune(set, now, horizon.getTime());
      set.lastFullReadAt = startedAt;
      await subscribe(ctx, set);
    }
    set.readStartedAt = Math.max(set.readStartedAt, startedAt);
    if (set.failing) ctx.log.info("revocation set read from PostgreSQL again");
    set.failing = false;
  } catch (error) {
    if (!set.failing) ctx.log.warn("revocation set not read; checks ask PostgreSQL until it is", { error });
    set.failing = true;
  }
}

function noteLatest(map: Map<string, number>, key: string, at: number): void {
  map.set(key, Math.max(map.get(key) ?? 0, at));
}

/** Drops what no unexpired token can be affected by any more. */
function prune(set: RevocationSet, now: number, horizon: number): void {
  for (const [jti, expiresAt] of set.tokens) if (expiresAt <= now) set.tokens.delete(jti);
  for (const [id, at] of set.devices) if (at <= horizon) set.devices.delete(id);
  for (const [id, at] of set.families) if (at <= horizon) set.families.delete(id);
}

interface RevocationFacts {
  jtiRevoked: boolean;
  /** When the token's device was last revoked, in ms; null when it never was. */
  deviceRevokedAtMs: number | null;
  familyRevoked: boolean;
}

/** Whether the verified access token was revoked: logged out, its device revoked, or its family revoked. */
export async function isAccessTokenRevoked(ctx: ServerContext, claims: AccessClaims): Promise<boolean> {
  const set = sets.get(ctx);
  const facts = set && Date.now() - set.readStartedAt < FRESH_MS ? factsFromSet(set, claims) : await factsFromDatabase(ctx, claims);
  if (revokes(facts, claims)) return true;
  // Made on another instance a moment ago: the set learns it within FRESH_MS, the store at once.
  const shared = set ? await factsFromStore(ctx, set, claims) : undefined;
  return shared !== undefined && revokes(shared, claims);
}

function revokes(facts: RevocationFacts, claims: AccessClaims): boolean {
  if (facts.jtiRevoked || facts.familyRevoked) return true;
  // A device revocation ends the tokens issued up to it; a later sign-in on that device is new.
  // `iat` has second precision, so a token from the revocation's own second counts as before it.
  return facts.deviceRevokedAtMs !== null && claims.iat * 1000 <= facts.deviceRevokedAtMs;
}

/** Resolves with `fallback` once `ms` have passed without an answer; a failure also answers `fallback`. */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}

/** What the shared store says, when it is shared (Redis) and answers promptly; undefined otherwise. */
async function factsFromStore(ctx: ServerContext, set: RevocationSet, claims: AccessClaims): Promise<RevocationFacts | undefined> {
  if (ctx.kv.kind !== "redis" || Date.now() < set.storeDownUntil) return undefined;
  const lookup = Promise.all([
    ctx.kv.get(keyOf.jti(claims.jti)),
    claims.did ? ctx.kv.get(keyOf.device(claims.did)) : Promise.resolve(null),
    claims.fam ? ctx.kv.get(keyOf.family(claims.fam)) : Promise.resolve(null),
  ]).then(([jti, device, family]): RevocationFacts => ({
    jtiRevoked: jti !== null,
    deviceRevokedAtMs: device === null ? null : Number(device),
    familyRevoked: family !== null,
  }));
  const facts = await within<RevocationFacts | undefined>(lookup, STORE_WAIT_MS, undefined);
  if (facts === undefined) set.storeDownUntil = Date.now() + STORE_BACKOFF_MS;
  return facts;
}

/** Writes a revocation to the shared store, waiting a moment at most; the set covers a write that fails. */
async function share(ctx: ServerContext, key: string, value: string, ttlMs: number): Promise<void> {
  const set = sets.get(ctx);
  if (ctx.kv.kind !== "redis" || (set && Date.now() < set.storeDownUntil)) return;
  const written = await within(
    ctx.kv.set(key, value, Math.max(1, ttlMs)).then(() => true),
    STORE_WRITE_WAIT_MS,
    false,
  );
  if (!written && set) set.storeDownUntil = Date.now() + STORE_BACKOFF_MS;
}

/** How long a device or family revocation must stay shared: until every token issued before it has expired. */
function lingerMs(ctx: ServerContext, revokedAt: Date): number {
  return revokedAt.getTime() + ctx.config.accessTokenTtlSeconds * 1000 + MARGIN_MS - ctx.now().getTime();
}

function factsFromSet(set: RevocationSet, claims: AccessClaims): RevocationFacts {
  return {
    jtiRevoked: set.tokens.has(claims.jti),
    deviceRevokedAtMs: claims.did ? (set.devices.get(claims.did) ?? null) : null,
    familyRevoked: claims.fam ? set.families.has(claims.fam) : false,
  };
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

/** Tells the other instances to read their set now; best effort, never waited on. */
function announce(ctx: ServerContext): void {
  void ctx.kv.publish(REVOCATION_CHANNEL, "1").catch((error: unknown) => {
    ctx.log.warn("revocation not announced; other instances see it at their next read", { error });
  });
}

/** Records that an access token is revoked (logout): in PostgreSQL, then in this instance's set. */
export async function revokeAccessToken(
  ctx: ServerContext,
  token: { jti: string; userId: string; expiresAt: Date },
  on: Executor = ctx.database.db,
): Promise<void> {
  await on
    .insert(schema.revokedAccessTokens)
    .values({ jti: token.jti, userId: token.userId, expiresAt: token.expiresAt, revokedAt: ctx.now() })
    .onConflictDoNothing();
  sets.get(ctx)?.tokens.set(token.jti, token.expiresAt.getTime());
  await share(ctx, keyOf.jti(token.jti), "1", token.expiresAt.getTime() - ctx.now().getTime());
  announce(ctx);
}

/** Enforces here, shares and announces a device revocation that PostgreSQL already holds (`devices.revoked_at`). */
export async function cacheDeviceRevocation(ctx: ServerContext, deviceId: string, revokedAt: Date): Promise<void> {
  const set = sets.get(ctx);
  if (set) noteLatest(set.devices, deviceId, revokedAt.getTime());
  await share(ctx, keyOf.device(deviceId), String(revokedAt.getTime()), lingerMs(ctx, revokedAt));
  announce(ctx);
}

/** Enforces here, shares and announces a family revocation that PostgreSQL already holds (`refresh_token_families.revoked_at`). */
export async function cacheFamilyRevocation(ctx: ServerContext, familyId: string, revokedAt: Date): Promise<void> {
  sets.get(ctx)?.families.set(familyId, revokedAt.getTime());
  await share(ctx, keyOf.family(familyId), "1", lingerMs(ctx, revokedAt));
  announce(ctx);
}
