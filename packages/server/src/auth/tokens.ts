import { randomUUID } from "node:crypto";
import { AppError, RoleSchema, type Role } from "@repensar/contracts";
import { errors, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWTHeaderParameters } from "jose";
import { z } from "zod";
import type { ServerContext } from "../context";
import { SIGNING_ALGORITHM, type SigningKeys } from "../keys";

/**
 * The JOSE `typ` of an access token (RFC 9068). Verification demands it, so nothing else this
 * server signs, and no other kind of token, passes as an access token.
 */
export const ACCESS_TOKEN_TYPE = "at+jwt";

/** Seconds of clock difference between instances that verification forgives. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** The claims of an access token (DESIGN §5), after verification. */
export interface AccessClaims {
  /** The user. */
  sub: string;
  /** The organization every read and write is scoped to. */
  org: string;
  role: Role;
  /** The device the token is bound to, when it is. */
  did: string | null;
  /** The refresh-token family (one login) the token was issued in; revoking the family ends it. */
  fam: string | null;
  jti: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

const VerifiedPayload = z.object({
  sub: z.string().min(1),
  org: z.string().min(1),
  role: RoleSchema,
  did: z.string().min(1).optional(),
  fam: z.uuid().optional(),
  jti: z.string().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
});

export interface AccessTokenSubject {
  userId: string;
  orgId: string;
  role: Role;
  deviceId: string | null;
  familyId: string | null;
}

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresAt: Date;
  /** Seconds until expiry: the response's `expires_in`. */
  expiresIn: number;
}

/** Signs an access token for `subject`, valid `accessTokenTtlSeconds` from `ctx.now()`. */
export async function issueAccessToken(ctx: ServerContext, subject: AccessTokenSubject): Promise<IssuedAccessToken> {
  const issuedAt = Math.floor(ctx.now().getTime() / 1000);
  const expiresIn = ctx.config.accessTokenTtlSeconds;
  const jti = randomUUID();
  const claims: Record<string, string> = { org: subject.orgId, role: subject.role };
  if (subject.deviceId) claims["did"] = subject.deviceId;
  if (subject.familyId) claims["fam"] = subject.familyId;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: ctx.keys.kid, typ: ACCESS_TOKEN_TYPE })
    .setSubject(subject.userId)
    .setJti(jti)
    .setIssuer(ctx.config.jwtIssuer)
    .setAudience(ctx.config.jwtAudience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + expiresIn)
    .sign(ctx.keys.privateKey);
  return { token, jti, expiresAt: new Date((issuedAt + expiresIn) * 1000), expiresIn };
}

const publicKeys = new WeakMap<SigningKeys, Promise<CryptoKey>>();

function publicKeyOf(keys: SigningKeys): Promise<CryptoKey> {
  let key = publicKeys.get(keys);
  if (!key) {
    key = importJWK(keys.publicJwk, SIGNING_ALGORITHM).then((imported) => {
      if (imported instanceof Uint8Array) throw new TypeError("The signing key's public JWK is not an asymmetric key");
      return imported;
    });
    publicKeys.set(keys, key);
  }
  return key;
}

/**
 * Verifies signature, algorithm (EdDSA only: `none`, HS256 and friends are refused before the
 * signature is looked at), `kid`, `typ`, issuer, audience, `exp` and `nbf`. Revocation is
 * checked separately (`authenticate.ts`), since it needs the database or the cache.
 */
export async function verifyAccessToken(ctx: ServerContext, token: string): Promise<AccessClaims> {
  const cache = verifiedCacheOf(ctx.keys);
  const known = cache.get(token);
  if (known) {
    if (ctx.now().getTime() / 1000 <= known.exp + CLOCK_TOLERANCE_SECONDS) return known;
    cache.delete(token);
    throw new AppError("TOKEN_EXPIRED");
  }
  const claims = await verifySignedAccessToken(ctx, token);
  if (cache.size >= VERIFIED_CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(token, claims);
  return claims;
}

/**
 * A signature check costs more than the rest of an empty poll, and a client presents the same
 * token on every request until it expires. The exact token string verified once under these keys
 * stays verified; only its expiry is looked at again.
 */
const VERIFIED_CACHE_SIZE = 10_000;
const verifiedCaches = new WeakMap<SigningKeys, Map<string, AccessClaims>>();

function verifiedCacheOf(keys: SigningKeys): Map<string, AccessClaims> {
  let cache = verifiedCaches.get(keys);
  if (!cache) verifiedCaches.set(keys, (cache = new Map()));
  return cache;
}

async function verifySignedAccessToken(ctx: ServerContext, token: string): Promise<AccessClaims> {
  const publicKey = await publicKeyOf(ctx.keys);
  const expectedKid = ctx.keys.kid;
  let payload: unknown;
  try {
    const verified = await jwtVerify(
      token,
      (header: JWTHeaderParameters) => {
        if (header.kid !== expectedKid) throw new AppError("TOKEN_INVALID", "The access token was signed with an unknown key.");
        return publicKey;
      },
      {
        algorithms: [SIGNING_ALGORITHM],
        issuer: ctx.config.jwtIssuer,
        audience: ctx.config.jwtAudience,
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ["sub", "jti", "iat", "exp"],
        currentDate: ctx.now(),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      },
    );
    payload = verified.payload;
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof errors.JWTExpired) throw new AppError("TOKEN_EXPIRED");
    if (error instanceof errors.JOSEError || error instanceof TypeError) throw new AppError("TOKEN_INVALID");
    throw error;
  }
  const parsed = VerifiedPayload.safeParse(payload);
  if (!parsed.success) throw new AppError("TOKEN_INVALID", "The access token lacks required claims.");
  const p = parsed.data;
  return { sub: p.sub, org: p.org, role: p.role, did: p.did ?? null, fam: p.fam ?? null, jti: p.jti, iat: p.iat, exp: p.exp };
}
