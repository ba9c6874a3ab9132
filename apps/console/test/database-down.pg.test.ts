import { randomUUID } from "node:crypto";
import { hasCommand, startThrowawayPostgres, type ThrowawayServer } from "@repensar/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInDevice, type RestDevice } from "./rest";
import { startConsole, type ConsoleProcess } from "./server-process";

/** The console on a PostgreSQL of the test's own, which the test stops and starts again. */
describe.runIf(process.env.DATABASE_URL && hasCommand("initdb") && hasCommand("postgres"))("while PostgreSQL is down", () => {
  let postgres: ThrowawayServer;
  let server: ConsoleProcess;
  let phone: RestDevice;
  let email: string;
  const password = "correct horse battery staple";

  beforeAll(async () => {
    postgres = await startThrowawayPostgres();
    server = await startConsole({ DATABASE_URL: postgres.url });
    email = `down-${randomUUID()}@example.org`;
    const res = await fetch(`${server.url}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password, name: "Outage" }),
    });
    expect(res.status).toBe(201);
    phone = await signInDevice(server.url, email, password, "Phone");
  });
  afterAll(async () => {
    await server?.stop();
    await postgres?.dispose();
  });

  it("answers 503 SERVICE_UNAVAILABLE with Retry-After, on REST and tRPC, and serves again once it is back", async () => {
    await postgres.stop();
    const answers = [
      ["login", await fetch(`${server.url}/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) })],
      ["pull", await phone.call("/sync/pull", { device_id: phone.deviceId, entity_types: ["volunteer"], since: null })],
      ["push", await phone.call("/sync/push", { device_id: phone.deviceId, changes: [] })],
      ["devices", await phone.call("/sync/device/list")],
    ] as const;
    for (const [what, res] of answers) {
      expect(res.status, what).toBe(503);
      expect(Number(res.headers.get("retry-after")), what).toBeGreaterThan(0);
      expect(await res.json(), what).toEqual({ detail: expect.any(String), code: "SERVICE_UNAVAILABLE", request_id: expect.any(String) });
    }
    const signIn = await fetch(`${server.url}/api/trpc/auth.signIn`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.url },
      body: JSON.stringify({ email, password }),
    });
    expect(signIn.status).toBe(503);
    expect(Number(signIn.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await signIn.json()) as { error: { data: { appCode: string } } }).error.data.appCode).toBe("SERVICE_UNAVAILABLE");
    expect(server.output()).not.toContain("INTERNAL_ERROR");

    await postgres.start();
    // The pool reconnects by itself; the first requests may still meet the cluster starting up.
    await expect.poll(async () => (await phone.call("/sync/device/list")).status, { timeout: 30_000, interval: 250 }).toBe(200);
  });
});
