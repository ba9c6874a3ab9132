import { randomUUID } from "node:crypto";
import { isAppError } from "@repensar/contracts";
import { openTestDatabase } from "@repensar/db/testing";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConfig } from "../config";
import type { ServerContext } from "../context";
import { loadSigningKeys } from "../keys";
import { createMemoryStore } from "../kv/memory";
import { createLogger } from "../log";
import { createSyncMetrics } from "../sync/metrics";
import { authenticateRequest } from "./authenticate";
import { revokeAccessToken } from "./revocation";
import { ACCESS_TOKEN_TYPE, issueAccessToken, verifyAccessToken } from "./tokens";

const subject = { userId: randomUUID(), orgId: randomUUID(), role: "member" as const, deviceId: "device-1", familyId: null };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return error.code;
    throw error;
  }
  return "accepted";
}

function bearer(token: string): Request {
  return new Request("http://localhost/auth/me", { headers: { authorization: `Bearer ${token}` } });
}

describe("access tokens", () => {
  let ctx: ServerContext;
  beforeAll(async () => {
    const config = testConfig();
    const services = {
      config,
      database: await openTestDatabase(),
      kv: createMemoryStore(),
      keys: await loadSigningKeys(config),
      log: createLogger("silent"),
      now: () => new Date(),
    };
    ctx = { ...services, metrics: createSyncMetrics(services) };
  });
  afterAll(async () => {
    await ctx.kv.close();
    await ctx.database.close();
  });

  it("round-trips the claims of DESIGN §5", async () => {
    const issued = await issueAccessToken(ctx, subject);
    const claims = await verifyAccessToken(ctx, issued.token);
    expect(claims).toMatchObject({ sub: subject.userId, org: subject.orgId, role: "member", did: "device-1", jti: issued.jti });
    expect(claims.exp - claims.iat).toBe(ctx.config.accessTokenTtlSeconds);
  });

  it("refuses a token signed by another key with the same kid", async () => {
    const other = await loadSigningKeys(testConfig());
    const forged = await new SignJWT({ org: subject.orgId, role: "admin" })
      .setProtectedHeader({ alg: "EdDSA", kid: ctx.keys.kid, typ: ACCESS_TOKEN_TYPE })
      .setSubject(subject.userId)
      .setJti(randomUUID())
      .setIssuer(ctx.config.jwtIssuer)
      .setAudience(ctx.config.jwtAudience)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(other.privateKey);
    expect(await codeOf(verifyAccessToken(ctx, forged))).toBe("TOKEN_INVALID");
  });

  it("refuses a token without the access-token typ", async () => {
    const untyped = await new SignJWT({ org: subject.orgId, role: "member" })
      .setProtectedHeader({ alg: "EdDSA", kid: ctx.keys.kid })
      .setSubject(subject.userId)
      .setJti(randomUUID())
      .setIssuer(ctx.config.jwtIssuer)
      .setAudience(ctx.config.jwtAudience)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(ctx.keys.privateKey);
    expect(await codeOf(verifyAccessToken(ctx, untyped))).toBe("TOKEN_INVALID");
  });

  it("says expired for an expired token", async () => {
    const past = { ...ctx, now: () => new Date(Date.now() - 2 * 3600_000) };
    const issued = await issueAccessToken(past, subject);
    expect(await codeOf(verifyAccessToken(ctx, issued.token))).toBe("TOKEN_EXPIRED");
  });

  it("says expired for a token that was verified while it was valid", async () => {
    const issued = await issueAccessToken(ctx, subject);
    expect((await verifyAccessToken(ctx, issued.token)).jti).toBe(issued.jti);
    const later = { ...ctx, now: () => new Date(Date.now() + 2 * 3600_000) };
    expect(await codeOf(verifyAccessToken(later, issued.token))).toBe("TOKEN_EXPIRED");
  });

  it("refuses a missing header, a garbage token and a revoked token", async () => {
    expect(await codeOf(authenticateRequest(ctx, new Request("http://localhost/")))).toBe("UNAUTHORIZED");
    expect(await codeOf(authenticateRequest(ctx, bearer("not.a.jwt")))).toBe("TOKEN_INVALID");
    const issued = await issueAccessToken(ctx, subject);
    expect((await authenticateRequest(ctx, bearer(issued.token))).tokenId).toBe(issued.jti);
    await revokeAccessToken(ctx, { jti: issued.jti, userId: subject.userId, expiresAt: issued.expiresAt });
    expect(await codeOf(authenticateRequest(ctx, bearer(issued.token)))).toBe("TOKEN_REVOKED");
  });
});
