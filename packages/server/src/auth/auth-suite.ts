import { randomUUID } from "node:crypto";
import { DeviceListResponse, ErrorBody, MeResponse, TokenResponse, type DeviceRegisterRequest } from "@repensar/contracts";
import { schema } from "@repensar/db";
import { createLocalJWKSet, exportSPKI, jwtVerify, SignJWT, type JSONWebKeySet } from "jose";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyValueStore } from "../kv/store";
import { startTestServer, type TestServer } from "../testing/harness";
import { ACCESS_TOKEN_TYPE } from "./tokens";

const ADMIN = { email: "owner@example.com", password: "first-admin-password" };

/** The clock the app reads; tests move it forward. */
function movableClock() {
  let offsetMs = 0;
  return { now: () => new Date(Date.now() + offsetMs), advance: (ms: number) => (offsetMs += ms) };
}

function jsonInit(body: unknown, token?: string, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
  };
}

function bearer(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` } };
}

async function errorOf(res: Response): Promise<ErrorBody & { status: number }> {
  return { status: res.status, ...ErrorBody.parse(await res.json()) };
}

function device(deviceId: string, overrides: Partial<Record<keyof DeviceRegisterRequest, string>> = {}) {
  return { device_id: deviceId, device_name: "John's iPhone", device_type: "ios", platform: "ios", os_version: "17.2", app_version: "2.0.0", ...overrides };
}

/**
 * The auth and device endpoints over real HTTP. Run on PGlite with the in-process store, and on
 * PostgreSQL with Redis; `makeStore` gives a store of its own (own counters) for a second app.
 */
export function authSuite(name: string, makeStore: () => KeyValueStore): void {
  describe(`auth and devices over HTTP (${name})`, () => {
    let server: TestServer;
    const clock = movableClock();
    let counter = 0;

    beforeAll(async () => {
      // A generous allowance: this file signs in many times from one address.
      server = await startTestServer({ adminEmail: ADMIN.email, adminPassword: ADMIN.password, loginMaxAttempts: 500 }, { now: clock.now });
    });
    afterAll(async () => {
      await server.close();
    });

    async function register(overrides: { email?: string; name?: string } = {}): Promise<TokenResponse & { password: string }> {
      counter += 1;
      const password = `password-${counter}-${randomUUID()}`;
      const res = await server.fetch(
        "/auth/register",
        jsonInit({ email: overrides.email ?? `user${counter}-${randomUUID().slice(0, 8)}@example.com`, password, name: overrides.name ?? `User ${counter}` }),
      );
      expect(res.status).toBe(201);
      return { ...TokenResponse.parse(await res.json()), password };
    }

    async function login(email: string, password: string, deviceId?: string): Promise<TokenResponse> {
      const res = await server.fetch("/auth/login", jsonInit({ email, password, ...(deviceId ? { device_id: deviceId } : {}) }));
      expect(res.status).toBe(200);
      return TokenResponse.parse(await res.json());
    }

    async function refresh(refreshToken: string): Promise<Response> {
      return server.fetch("/auth/refresh", jsonInit({ refresh_token: refreshToken }));
    }

    async function meStatus(token: string): Promise<number> {
      return (await server.fetch("/auth/me", bearer(token))).status;
    }

    describe("accounts", () => {
      it("registers a user as the admin of an organization of their own", async () => {
        const a = await register({ name: "Ana" });
        const b = await register({ name: "Bo" });
        expect(a.token_type).toBe("bearer");
        expect(a.expires_in).toBe(1800);
        const res = await server.fetch("/auth/me", bearer(a.access_token));
        expect(res.status).toBe(200);
        const me = MeResponse.parse(await res.json());
        expect(me).toMatchObject({ user: { email: a.user.email, name: "Ana" }, role: "admin", device_id: null });
        expect(me.organization.id).toBe(a.user.organization_id);
        expect(b.user.organization_id).not.toBe(a.user.organization_id);
      });

      it("refuses an email that has an account, whatever its case", async () => {
        const a = await register();
        const res = await server.fetch("/auth/register", jsonInit({ email: a.user.email.toUpperCase(), password: "another-password", name: "Twin" }));
        expect(await errorOf(res)).toMatchObject({ status: 409, code: "EMAIL_TAKEN" });
      });

      it("answers a schema violation 422 with the issues", async () => {
        const res = await server.fetch("/auth/register", jsonInit({ email: "not-an-email", password: "short", name: "" }));
        const body = await errorOf(res);
        expect(body.status).toBe(422);
        expect(Array.isArray(body.detail)).toBe(true);
      });

      it("signs in the first admin configured by ADMIN_EMAIL / ADMIN_PASSWORD", async () => {
        const tokens = await login(ADMIN.email, ADMIN.password);
        expect(tokens.user.role).toBe("admin");
      });

      it("answers an unknown email and a wrong password alike", async () => {
        const a = await register();
        const wrong = await server.fetch("/auth/login", jsonInit({ email: a.user.email, password: "not-the-password" }));
        const unknown = await server.fetch("/auth/login", jsonInit({ email: `nobody-${randomUUID()}@example.com`, password: "not-the-password" }));
        expect(wrong.status).toBe(401);
        expect(unknown.status).toBe(401);
        // Alike but for the request's own id.
        const { request_id: wrongId, ...wrongBody } = (await wrong.json()) as Record<string, unknown>;
        const { request_id: unknownId, ...unknownBody } = (await unknown.json()) as Record<string, unknown>;
        expect(wrongBody).toEqual(unknownBody);
        expect(wrongId).not.toBe(unknownId);
        expect(wrong.headers.get("www-authenticate")).toBe(unknown.headers.get("www-authenticate"));
      });

      it("publishes the public key, which verifies an access token", async () => {
        const a = await register();
        const res = await server.fetch("/.well-known/jwks.json");
        const jwks = (await res.json()) as JSONWebKeySet;
        expect(jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
        expect(jwks.keys[0]).not.toHaveProperty("d");
        const { payload, protectedHeader } = await jwtVerify(a.access_token, createLocalJWKSet(jwks), { currentDate: clock.now() });
        expect(protectedHeader.kid).toBe(jwks.keys[0]?.kid);
        expect(payload).toMatchObject({ sub: a.user.id, org: a.user.organization_id, role: "admin", iss: "repensar-sync", aud: "repensar-sync-api" });
        expect(payload.jti).toBeTypeOf("string");
      });
    });

    describe("access tokens that are refused", () => {
      let victim: TokenResponse;
      let claims: { sub: string; org: string; role: string };
      beforeAll(async () => {
        victim = await register();
        claims = { sub: String(victim.user.id), org: String(victim.user.organization_id), role: "admin" };
      });

      const signed = (configure: (jwt: SignJWT) => SignJWT) =>
        configure(
          new SignJWT({ org: claims.org, role: claims.role })
            .setSubject(claims.sub)
            .setJti(randomUUID())
            .setIssuedAt(Math.floor(clock.now().getTime() / 1000)),
        );

      it("accepts the real one", async () => {
        expect(await meStatus(victim.access_token)).toBe(200);
      });

      it("refuses no token, and a refresh token used as an access token", async () => {
        expect(await errorOf(await server.fetch("/auth/me"))).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
        expect(await meStatus(victim.refresh_token)).toBe(401);
      });

      it("refuses alg none", async () => {
        const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
        const now = Math.floor(clock.now().getTime() / 1000);
        const payload = { ...claims, jti: randomUUID(), iat: now, exp: now + 600, iss: "repensar-sync", aud: "repensar-sync-api" };
        const token = `${encode({ alg: "none", typ: ACCESS_TOKEN_TYPE, kid: server.app.context.keys.kid })}.${encode(payload)}.`;
        expect(await errorOf(await server.fetch("/auth/me", bearer(token)))).toMatchObject({ status: 401, code: "TOKEN_INVALID" });
      });

      it("refuses HS256 signed with the public key", async () => {
        const { keys } = server.app.context;
        const pem = await exportSPKI(await crypto.subtle.importKey("jwk", { ...keys.publicJwk }, { name: "Ed25519" }, true, ["verify"]));
        for (const secret of [pem, JSON.stringify(keys.publicJwk), keys.publicJwk.x ?? ""]) {
          const token = await signed((jwt) =>
            jwt
              .setProtectedHeader({ alg: "HS256", kid: keys.kid, typ: ACCESS_TOKEN_TYPE })
              .setIssuer("repensar-sync")
              .setAudience("repensar-sync-api")
              .setExpirationTime(Math.floor(clock.now().getTime() / 1000) + 600),
          ).sign(new TextEncoder().encode(secret));
          expect(await meStatus(token)).toBe(401);
        }
      });

      it("refuses an expired token, a future nbf, a wrong audience and a wrong issuer, though signed by our key", async () => {
        const { keys } = server.app.context;
        const now = Math.floor(clock.now().getTime() / 1000);
        const base = (jwt: SignJWT) => jwt.setProtectedHeader({ alg: "EdDSA", kid: keys.kid, typ: ACCESS_TOKEN_TYPE });
        const control = await signed((jwt) => base(jwt).setIssuer("repensar-sync").setAudience("repensar-sync-api").setExpirationTime(now + 600)).sign(keys.privateKey);
        expect(await meStatus(control)).toBe(200);

        const expired = await signed((jwt) => base(jwt).setIssuer("repensar-sync").setAudience("repensar-sync-api").setExpirationTime(now - 120)).sign(keys.privateKey);
        expect(await errorOf(await server.fetch("/auth/me", bearer(expired)))).toMatchObject({ status: 401, code: "TOKEN_EXPIRED" });
        const future = await signed((jwt) =>
          base(jwt).setIssuer("repensar-sync").setAudience("repensar-sync-api").setNotBefore(now + 3600).setExpirationTime(now + 7200),
        ).sign(keys.privateKey);
        expect(await meStatus(future)).toBe(401);
        const audience = await signed((jwt) => base(jwt).setIssuer("repensar-sync").setAudience("another-api").setExpirationTime(now + 600)).sign(keys.privateKey);
        expect(await meStatus(audience)).toBe(401);
        const issuer = await signed((jwt) => base(jwt).setIssuer("someone-else").setAudience("repensar-sync-api").setExpirationTime(now + 600)).sign(keys.privateKey);
        expect(await meStatus(issuer)).toBe(401);
        const untyped = await signed((jwt) =>
          jwt.setProtectedHeader({ alg: "EdDSA", kid: keys.kid }).setIssuer("repensar-sync").setAudience("repensar-sync-api").setExpirationTime(now + 600),
        ).sign(keys.privateKey);
        expect(await meStatus(untyped)).toBe(401);
      });

      it("refuses a token once the clock passes its expiry", async () => {
        const a = await register();
        expect(await meStatus(a.access_token)).toBe(200);
        clock.advance(31 * 60_000);
        try {
          expect(await errorOf(await server.fetch("/auth/me", bearer(a.access_token)))).toMatchObject({ status: 401, code: "TOKEN_EXPIRED" });
        } finally {
          clock.advance(-31 * 60_000);
        }
      });
    });

    describe("refresh tokens", () => {
      it("rotates on every use, and the new pair works", async () => {
        const a = await register();
        const res = await refresh(a.refresh_token);
        expect(res.status).toBe(200);
        const next = TokenResponse.parse(await res.json());
        expect(next.refresh_token).not.toBe(a.refresh_token);
        expect(next.user.id).toBe(a.user.id);
        expect(await meStatus(next.access_token)).toBe(200);
        expect((await refresh(next.refresh_token)).status).toBe(200);
      });

      it("revokes the whole family when a rotated token is reused", async () => {
        const a = await register();
        const next = TokenResponse.parse(await (await refresh(a.refresh_token)).json());
        clock.advance(11_000);
        const reuse = await refresh(a.refresh_token);
        expect(await errorOf(reuse)).toMatchObject({ status: 401, code: "REFRESH_TOKEN_REUSED" });
        // The thief's or the owner's successor: neither works any more, nor the access tokens.
        expect(await errorOf(await refresh(next.refresh_token))).toMatchObject({ status: 401, code: "REFRESH_TOKEN_INVALID" });
        expect(await errorOf(await server.fetch("/auth/me", bearer(next.access_token)))).toMatchObject({ status: 401, code: "TOKEN_REVOKED" });
        expect(await meStatus(a.access_token)).toBe(401);
        const audit = await server.app.context.database.db
          .select({ eventType: schema.auditLog.eventType })
          .from(schema.auditLog)
          .where(eq(schema.auditLog.userId, String(a.user.id)));
        expect(audit.map((e) => e.eventType)).toContain("REFRESH_REUSE_DETECTED");
      });

      it("gives a retry within 10 seconds the same successor", async () => {
        const a = await register();
        const first = TokenResponse.parse(await (await refresh(a.refresh_token)).json());
        clock.advance(5_000);
        const retry = await refresh(a.refresh_token);
        expect(retry.status).toBe(200);
        expect(TokenResponse.parse(await retry.json()).refresh_token).toBe(first.refresh_token);
        expect((await refresh(first.refresh_token)).status).toBe(200);
      });

      it("turns 10 parallel refreshes of one token into one successor", async () => {
        const a = await register();
        const answers = await Promise.all(Array.from({ length: 10 }, () => refresh(a.refresh_token)));
        expect(answers.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
        const tokens = await Promise.all(answers.map(async (r) => TokenResponse.parse(await r.json()).refresh_token));
        expect(new Set(tokens).size).toBe(1);
        const { db } = server.app.context.database;
        const families = await db.select({ id: schema.refreshTokenFamilies.id }).from(schema.refreshTokenFamilies).where(eq(schema.refreshTokenFamilies.userId, String(a.user.id)));
        const rows = await db.select().from(schema.refreshTokens).where(inArray(schema.refreshTokens.familyId, families.map((f) => f.id)));
        expect(rows.map((r) => r.generation).sort()).toEqual([0, 1]);
        expect((await refresh(tokens[0] ?? "")).status).toBe(200);
      });

      it("refuses an unknown token and one past the family's absolute lifetime", async () => {
        expect(await errorOf(await refresh("rt1..bm90LWEtdG9rZW4"))).toMatchObject({ status: 401, code: "REFRESH_TOKEN_INVALID" });
        expect((await refresh("garbage")).status).toBe(401);
        const a = await register();
        clock.advance(31 * 86_400_000);
        try {
          expect(await errorOf(await refresh(a.refresh_token))).toMatchObject({ status: 401, code: "REFRESH_TOKEN_INVALID" });
        } finally {
          clock.advance(-31 * 86_400_000);
        }
      });
    });

    describe("refresh tokens in a cookie (browsers)", () => {
      /** The `repensar_refresh` cookie a response sets, as `name=value`, with its attributes. */
      function refreshCookieOf(res: Response): { pair: string; attributes: string[] } {
        const header = res.headers.getSetCookie().find((cookie) => cookie.startsWith("repensar_refresh="));
        expect(header).toBeDefined();
        const [pair = "", ...attributes] = (header ?? "").split(";").map((part) => part.trim());
        return { pair, attributes };
      }

      async function cookieLogin(): Promise<{ account: TokenResponse & { password: string }; answer: TokenResponse; cookie: string; attributes: string[] }> {
        const account = await register();
        const res = await server.fetch("/auth/login", jsonInit({ email: account.user.email, password: account.password, refresh_token_cookie: true }));
        expect(res.status).toBe(200);
        const { pair, attributes } = refreshCookieOf(res);
        return { account, answer: TokenResponse.parse(await res.json()), cookie: pair, attributes };
      }

      const origin = () => new URL(server.url).origin;

      it("sets the refresh token as an HttpOnly, SameSite=Strict cookie on /auth and leaves it out of the answer", async () => {
        const { answer, cookie, attributes } = await cookieLogin();
        expect(answer.refresh_token).toBe("");
        expect(cookie).toMatch(/^repensar_refresh=.{20,}$/);
        expect(attributes).toEqual(expect.arrayContaining(["Path=/auth", "HttpOnly", "SameSite=Strict"]));
        expect(await meStatus(answer.access_token)).toBe(200);
      });

      it("refreshes from the cookie, from the app's own origin only, and rotates it", async () => {
        const { cookie } = await cookieLogin();
        const noOrigin = await server.fetch("/auth/refresh", jsonInit({}, undefined, { cookie }));
        expect(await errorOf(noOrigin)).toMatchObject({ status: 403, code: "ORIGIN_MISMATCH" });
        const foreign = await server.fetch("/auth/refresh", jsonInit({}, undefined, { cookie, origin: "https://evil.example" }));
        expect(await errorOf(foreign)).toMatchObject({ status: 403, code: "ORIGIN_MISMATCH" });

        const res = await server.fetch("/auth/refresh", { method: "POST", headers: { cookie, origin: origin() } });
        expect(res.status).toBe(200);
        const next = TokenResponse.parse(await res.json());
        expect(next.refresh_token).toBe("");
        expect(await meStatus(next.access_token)).toBe(200);
        const rotated = refreshCookieOf(res).pair;
        expect(rotated).not.toBe(cookie);
        expect((await server.fetch("/auth/refresh", jsonInit({}, undefined, { cookie: rotated, origin: origin() }))).status).toBe(200);
      });

      it("refuses a refresh with neither a token nor the cookie", async () => {
        expect(await errorOf(await server.fetch("/auth/refresh", jsonInit({})))).toMatchObject({ status: 401, code: "REFRESH_TOKEN_INVALID" });
      });

      it("logout ends the cookie's sign-in and clears the cookie", async () => {
        const { answer, cookie } = await cookieLogin();
        const res = await server.fetch("/auth/logout", { method: "POST", headers: { authorization: `Bearer ${answer.access_token}`, cookie } });
        expect(res.status).toBe(200);
        expect(refreshCookieOf(res)).toMatchObject({ pair: "repensar_refresh=", attributes: expect.arrayContaining(["Max-Age=0"]) });
        const again = await server.fetch("/auth/refresh", jsonInit({}, undefined, { cookie, origin: origin() }));
        expect(await errorOf(again)).toMatchObject({ status: 401 });
      });
    });

    describe("logout", () => {
      it("refuses the access token at once and ends the sign-in", async () => {
        const a = await register();
        const res = await server.fetch("/auth/logout", jsonInit({ refresh_token: a.refresh_token }, a.access_token));
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ message: "Successfully logged out" });
        expect(await errorOf(await server.fetch("/auth/me", bearer(a.access_token)))).toMatchObject({ status: 401, code: "TOKEN_REVOKED" });
        expect((await refresh(a.refresh_token)).status).toBe(401);
      });

      it("accepts a logout without a body", async () => {
        const a = await register();
        const res = await server.fetch("/auth/logout", { method: "POST", headers: { authorization: `Bearer ${a.access_token}` } });
        expect(res.status).toBe(200);
        expect(await meStatus(a.access_token)).toBe(401);
      });
    });

    describe("devices", () => {
      it("registers, lists and updates a device in the source's shapes", async () => {
        const a = await register();
        const id = randomUUID();
        const res = await server.fetch("/sync/device/register", jsonInit(device(id), a.access_token));
        expect(res.status).toBe(200);
        const body = (await res.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ device_id: id, last_sync_at: null, message: "Device registered successfully" });
        expect(typeof body["registered_at"]).toBe("string");

        const again = await server.fetch("/sync/device/register", jsonInit(device(id, { app_version: "2.1.0", platform: "darwin", device_type: "desktop" }), a.access_token));
        expect(again.status).toBe(200);
        const list = DeviceListResponse.parse(await (await server.fetch("/sync/device/list", bearer(a.access_token))).json());
        expect(list.total).toBe(1);
        expect(list.devices[0]).toMatchObject({ device_id: id, app_version: "2.1.0", platform: "macos", device_type: "desktop", is_active: true });
      });

      it("refuses a device type or platform outside the source's enums with 422", async () => {
        const a = await register();
        for (const bad of [{ device_type: "toaster" }, { platform: "beos" }]) {
          const res = await server.fetch("/sync/device/register", jsonInit({ ...device(randomUUID()), ...bad }, a.access_token));
          expect(await errorOf(res)).toMatchObject({ status: 422, code: "VALIDATION_ERROR" });
        }
      });

      it("keeps another organization's device out of reach: not listed, not revoked, not registered over", async () => {
        const owner = await register();
        const intruder = await register();
        const id = randomUUID();
        expect((await server.fetch("/sync/device/register", jsonInit(device(id), owner.access_token))).status).toBe(200);

        const list = DeviceListResponse.parse(await (await server.fetch("/sync/device/list?include_inactive=true", bearer(intruder.access_token))).json());
        expect(list.devices.map((d) => d.device_id)).not.toContain(id);
        const revoke = await server.fetch(`/sync/device/${id}/revoke`, { method: "POST", ...bearer(intruder.access_token) });
        expect(await errorOf(revoke)).toMatchObject({ status: 404, code: "DEVICE_NOT_FOUND" });
        const takeover = await server.fetch("/sync/device/register", jsonInit(device(id, { device_name: "Mine now" }), intruder.access_token));
        expect(await errorOf(takeover)).toMatchObject({ status: 403, code: "DEVICE_OWNED_BY_OTHER" });
        const bound = await server.fetch("/auth/login", jsonInit({ email: intruder.user.email, password: intruder.password, device_id: id }));
        expect(bound.status).toBe(403);

        const mine = DeviceListResponse.parse(await (await server.fetch("/sync/device/list", bearer(owner.access_token))).json());
        expect(mine.devices).toHaveLength(1);
        expect(mine.devices[0]).toMatchObject({ device_id: id, device_name: "John's iPhone", is_active: true });
      });

      it("refuses a token bound to a device right after that device is revoked, and its refresh", async () => {
        const a = await register();
        const id = randomUUID();
        const bound = await login(a.user.email, a.password, id);
        expect((await server.fetch("/sync/device/register", jsonInit(device(id), bound.access_token))).status).toBe(200);
        const me = MeResponse.parse(await (await server.fetch("/auth/me", bearer(bound.access_token))).json());
        expect(me.device_id).toBe(id);

        const revoke = await server.fetch(`/sync/device/${id}/revoke`, { method: "POST", ...bearer(a.access_token) });
        expect(revoke.status).toBe(200);
        expect(await revoke.json()).toEqual({ message: "Device 'John's iPhone' revoked successfully", device_id: id });

        expect(await errorOf(await server.fetch("/auth/me", bearer(bound.access_token)))).toMatchObject({ status: 401, code: "TOKEN_REVOKED" });
        expect((await refresh(bound.refresh_token)).status).toBe(401);
        expect(await meStatus(a.access_token)).toBe(200);

        const listed = DeviceListResponse.parse(await (await server.fetch("/sync/device/list?include_inactive=true", bearer(a.access_token))).json());
        expect(listed.devices).toMatchObject([{ device_id: id, is_active: false }]);
        const active = DeviceListResponse.parse(await (await server.fetch("/sync/device/list", bearer(a.access_token))).json());
        expect(active.total).toBe(0);

        // A fresh sign-in on that device may register it again.
        clock.advance(1_500);
        const fresh = await login(a.user.email, a.password, id);
        expect((await server.fetch("/sync/device/register", jsonInit(device(id), fresh.access_token))).status).toBe(200);
        expect(await meStatus(fresh.access_token)).toBe(200);
      });

      it("ends the sign-in that registered a device when the device is revoked", async () => {
        const a = await register();
        const id = randomUUID();
        expect((await server.fetch("/sync/device/register", jsonInit(device(id), a.access_token))).status).toBe(200);
        const other = await login(a.user.email, a.password);
        expect((await server.fetch(`/sync/device/${id}/revoke`, { method: "POST", ...bearer(other.access_token) })).status).toBe(200);
        expect(await meStatus(a.access_token)).toBe(401);
        expect((await refresh(a.refresh_token)).status).toBe(401);
        expect(await meStatus(other.access_token)).toBe(200);
      });

      it("records the security events in the audit log", async () => {
        const a = await register();
        await server.fetch("/auth/login", jsonInit({ email: a.user.email, password: "wrong-password" }));
        const signedIn = await login(a.user.email, a.password);
        const id = randomUUID();
        await server.fetch("/sync/device/register", jsonInit(device(id), signedIn.access_token));
        await server.fetch(`/sync/device/${id}/revoke`, { method: "POST", ...bearer(signedIn.access_token) });
        await server.fetch("/auth/logout", { method: "POST", ...bearer(a.access_token) });
        const events = await server.app.context.database.db
          .select({ eventType: schema.auditLog.eventType, deviceId: schema.auditLog.deviceId })
          .from(schema.auditLog)
          .where(eq(schema.auditLog.userId, String(a.user.id)));
        expect(new Set(events.map((e) => e.eventType))).toEqual(
          new Set(["USER_REGISTERED", "LOGIN_FAILED", "LOGIN", "DEVICE_REGISTERED", "DEVICE_REVOKED", "LOGOUT"]),
        );
      });
    });

    describe("login rate limits", () => {
      let limited: TestServer;
      beforeAll(async () => {
        // Its own counters and the default allowance, on the same database.
        limited = await startTestServer({}, { database: server.app.context.database, kv: makeStore() });
      });
      afterAll(async () => {
        await limited.close();
      });

      it("answers 429 with Retry-After long before 100 of 200 wrong passwords", async () => {
        const a = await register();
        let firstLimited = -1;
        let retryAfter: string | null = null;
        for (let i = 0; i < 200; i++) {
          const res = await limited.fetch("/auth/login", jsonInit({ email: a.user.email, password: `wrong-${i}` }));
          if (res.status === 429) {
            firstLimited = i;
            retryAfter = res.headers.get("retry-after");
            expect(((await res.json()) as { code: string }).code).toBe("RATE_LIMITED");
            break;
          }
          expect(res.status).toBe(401);
        }
        expect(firstLimited).toBeGreaterThan(0);
        expect(firstLimited).toBeLessThan(100);
        expect(Number(retryAfter)).toBeGreaterThan(0);
        // The right password is refused too while the account is limited.
        expect((await limited.fetch("/auth/login", jsonInit({ email: a.user.email, password: a.password }))).status).toBe(429);
      });

      it("does not let a spoofed X-Forwarded-For reset the address's count", async () => {
        let firstLimited = -1;
        for (let i = 0; i < 200; i++) {
          const res = await limited.fetch(
            "/auth/login",
            jsonInit({ email: `nobody-${i}-${randomUUID()}@example.com`, password: "guess" }, undefined, { "x-forwarded-for": `203.0.113.${i % 250}` }),
          );
          if (res.status === 429) {
            firstLimited = i;
            break;
          }
        }
        expect(firstLimited).toBeGreaterThan(0);
        expect(firstLimited).toBeLessThan(100);
      });
    });

    it("refuses registration when it is turned off", async () => {
      const closed = await startTestServer({ allowRegistration: false }, { database: server.app.context.database, kv: makeStore() });
      try {
        const res = await closed.fetch("/auth/register", jsonInit({ email: "late@example.com", password: "password-123", name: "Late" }));
        expect(await errorOf(res)).toMatchObject({ status: 403, code: "REGISTRATION_DISABLED" });
      } finally {
        await closed.close();
      }
    });
  });
}
