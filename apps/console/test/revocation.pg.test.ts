import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { freeServicePort, hasCommand, startThrowawayRedis, type ThrowawayServer } from "@repensar/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInDevice } from "./rest";
import { startConsole, type ConsoleProcess } from "./server-process";

const databaseUrl = process.env.DATABASE_URL;

/**
 * Two instances behind one PostgreSQL: B reaches its Redis, A reaches none. A revocation made on
 * A cannot reach Redis at all, so only PostgreSQL can tell B about it.
 */
describe.runIf(databaseUrl && hasCommand("redis-server"))("revocation across instances when one cannot reach Redis", () => {
  let redis: ThrowawayServer;
  let a: ConsoleProcess;
  let b: ConsoleProcess;
  const password = "correct horse battery staple";

  beforeAll(async () => {
    redis = await startThrowawayRedis();
    const shared = {
      DATABASE_URL: databaseUrl ?? "",
      JWT_PRIVATE_KEY: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      TOKEN_SECRET: randomBytes(32).toString("hex"),
      ADMIN_EMAIL: "admin@example.org",
      ADMIN_PASSWORD: password,
      REDIS_KEY_PREFIX: "revocation-test:",
    };
    b = await startConsole({ ...shared, REDIS_URL: redis.url });
    // Nothing listens there: A is cut off from Redis for its whole life (so it is never "ready").
    a = await startConsole({ ...shared, REDIS_URL: `redis://127.0.0.1:${await freeServicePort()}` }, { readyPath: "/healthz" });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.dispose();
  });

  const me = (server: ConsoleProcess, token: string) => fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });

  async function registerOn(server: ConsoleProcess): Promise<string> {
    const email = `revoke-${randomUUID()}@example.org`;
    const res = await fetch(`${server.url}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password, name: "Two instances" }),
    });
    expect(res.status).toBe(201);
    return email;
  }

  it("refuses on B a token logged out on A", async () => {
    const email = await registerOn(b);
    const phone = await signInDevice(b.url, email, password, "Phone");
    expect((await me(b, phone.accessToken)).status).toBe(200);
    expect((await me(a, phone.accessToken)).status).toBe(200);

    const logout = await fetch(`${a.url}/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${phone.accessToken}` } });
    expect(logout.status).toBe(200);
    expect((await me(a, phone.accessToken)).status).toBe(401);
    // B learns it from PostgreSQL, within two seconds by design; the poll's ceiling is only for a slow machine.
    await expect.poll(async () => (await me(b, phone.accessToken)).status, { timeout: 30_000, interval: 100 }).toBe(401);
  });

  it("refuses on B the tokens of a device revoked on A", async () => {
    const email = await registerOn(b);
    const lost = await signInDevice(b.url, email, password, "Lost phone");
    const other = await signInDevice(b.url, email, password, "Laptop", "linux");
    expect((await me(b, lost.accessToken)).status).toBe(200);

    const revoke = await fetch(`${a.url}/sync/device/${lost.deviceId}/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${other.accessToken}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(revoke.status).toBe(200);
    expect((await me(a, lost.accessToken)).status).toBe(401);
    await expect.poll(async () => (await me(b, lost.accessToken)).status, { timeout: 30_000, interval: 100 }).toBe(401);
    // The device's other sign-ins are unaffected.
    expect((await me(b, other.accessToken)).status).toBe(200);
  });
});
