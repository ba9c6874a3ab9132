import { randomUUID } from "node:crypto";
import { TokenResponse } from "@repensar/contracts";
import { openTestDatabase } from "@repensar/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStore } from "../kv/redis";
import { startTestServer, type TestServer } from "../testing/harness";
import { authSuite } from "./auth-suite";

const redisUrl = process.env.REDIS_URL ?? "";
const prefix = process.env.REDIS_KEY_PREFIX ?? "test:";
/** A store of its own on the shared Redis: same server, separate keys. */
const ownStore = () => createRedisStore(redisUrl, `${prefix}${randomUUID().slice(0, 8)}:`);

function post(body: unknown, token?: string): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  };
}
const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });

describe.runIf(process.env.DATABASE_URL && redisUrl)("on PostgreSQL and Redis", () => {
  authSuite("PostgreSQL, Redis", ownStore);

  describe("revocation across instances and without Redis", () => {
    let a: TestServer;
    let b: TestServer;
    beforeAll(async () => {
      // Two instances sharing their signing keys (as JWT_PRIVATE_KEY does): database pools and Redis clients of their own, one PostgreSQL, one key space.
      const sharedPrefix = `${prefix}${randomUUID().slice(0, 8)}:`;
      a = await startTestServer({}, { kv: createRedisStore(redisUrl, sharedPrefix) });
      b = await startTestServer({}, { database: await openTestDatabase(), kv: createRedisStore(redisUrl, sharedPrefix), keys: a.app.context.keys });
    });
    afterAll(async () => {
      await a.close();
      await b.close();
      await b.app.context.database.close();
    });

    async function signUp(server: TestServer): Promise<TokenResponse & { password: string }> {
      const password = `password-${randomUUID()}`;
      const res = await server.fetch("/auth/register", post({ email: `u-${randomUUID()}@example.com`, password, name: "Instance user" }));
      expect(res.status).toBe(201);
      return { ...TokenResponse.parse(await res.json()), password };
    }

    async function signIn(server: TestServer, email: string, password: string, deviceId?: string): Promise<TokenResponse> {
      const res = await server.fetch("/auth/login", post({ email, password, ...(deviceId ? { device_id: deviceId } : {}) }));
      expect(res.status).toBe(200);
      return TokenResponse.parse(await res.json());
    }

    async function registerDevice(server: TestServer, token: string, deviceId: string): Promise<void> {
      const res = await server.fetch("/sync/device/register", post({ device_id: deviceId, device_name: "Phone", device_type: "android", platform: "android" }, token));
      expect(res.status).toBe(200);
    }

    it("refuses on one instance a token logged out on another", async () => {
      const user = await signUp(a);
      expect((await b.fetch("/auth/me", bearer(user.access_token))).status).toBe(200);
      expect((await a.fetch("/auth/logout", post({}, user.access_token))).status).toBe(200);
      expect((await b.fetch("/auth/me", bearer(user.access_token))).status).toBe(401);
    });

    it("refuses on every instance a token whose device was revoked on one", async () => {
      const user = await signUp(a);
      const id = randomUUID();
      const bound = await signIn(b, user.user.email, user.password, id);
      await registerDevice(b, bound.access_token, id);
      expect((await b.fetch("/auth/me", bearer(bound.access_token))).status).toBe(200);
      expect((await a.fetch(`/sync/device/${id}/revoke`, { method: "POST", ...bearer(user.access_token) })).status).toBe(200);
      expect((await b.fetch("/auth/me", bearer(bound.access_token))).status).toBe(401);
      expect((await a.fetch("/auth/me", bearer(bound.access_token))).status).toBe(401);
    });

    it("still refuses revoked tokens once Redis stops answering, and never fails open", async () => {
      const server = await startTestServer({}, { database: a.app.context.database, kv: ownStore() });
      try {
        const user = await signUp(server);
        const loggedOut = await signIn(server, user.user.email, user.password);
        expect((await server.fetch("/auth/logout", post({}, loggedOut.access_token))).status).toBe(200);
        const id = randomUUID();
        const bound = await signIn(server, user.user.email, user.password, id);
        await registerDevice(server, bound.access_token, id);
        const later = await signIn(server, user.user.email, user.password, randomUUID());
        expect((await server.fetch("/auth/me", bearer(later.access_token))).status).toBe(200);

        // Redis goes away mid-run: the app's own client is closed under it.
        await server.app.context.kv.close();
        await expect(server.app.context.kv.get("anything")).rejects.toThrow();

        expect((await server.fetch("/auth/me", bearer(loggedOut.access_token))).status).toBe(401);
        expect((await server.fetch("/auth/me", bearer(user.access_token))).status).toBe(200);
        // A revocation made while Redis is down is refused too.
        expect((await server.fetch(`/sync/device/${id}/revoke`, { method: "POST", ...bearer(user.access_token) })).status).toBe(200);
        const me = await server.fetch("/auth/me", bearer(bound.access_token));
        expect(me.status).toBe(401);
        expect(((await me.json()) as { code: string }).code).toBe("TOKEN_REVOKED");
        expect((await server.fetch("/auth/logout", post({}, later.access_token))).status).toBe(200);
        expect((await server.fetch("/auth/me", bearer(later.access_token))).status).toBe(401);
      } finally {
        await server.close();
      }
    });
  });
});
