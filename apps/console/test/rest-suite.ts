import { randomUUID } from "node:crypto";
import { statusOnOwnConnection } from "@repensar/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInDevice } from "./rest";
import { startConsole, type ConsoleProcess } from "./server-process";

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/**
 * The REST API as native clients meet it: the production build (`pnpm start`'s server) over real
 * HTTP. Run on the embedded default and, in the pg project, on PostgreSQL + Redis.
 */
export function restSuite(name: string, env: () => Record<string, string>): void {
  describe(`REST against the built console on ${name}`, () => {
    let server: ConsoleProcess;
    const password = "correct horse battery staple";
    beforeAll(async () => {
      server = await startConsole({ ...env(), MAX_BODY_BYTES: String(256 * 1024), LOGIN_MAX_ATTEMPTS: "5" });
    });
    afterAll(async () => {
      await server?.stop();
    });

    async function register(): Promise<{ email: string; tokens: { access_token: string; refresh_token: string } }> {
      const email = `rest-${randomUUID()}@example.org`;
      const res = await fetch(`${server.url}/auth/register`, json({ email, password, name: "Rest user" }));
      expect(res.status).toBe(201);
      return { email, tokens: (await res.json()) as { access_token: string; refresh_token: string } };
    }

    it("registers, signs a device in, pushes and pulls", async () => {
      const { email } = await register();
      const phone = await signInDevice(server.url, email, password, "Phone");
      const laptop = await signInDevice(server.url, email, password, "Laptop", "linux");
      const pushed = await phone.push([
        { entity_type: "volunteer", entity_id: "v1", operation: "CREATE", version: 0, data: { name: "Ana" }, change_id: randomUUID() },
      ]);
      expect(pushed.results?.[0]).toMatchObject({ status: "applied", version: 1 });
      const pulled = await laptop.pull(["volunteer"]);
      expect(pulled).toEqual([expect.objectContaining({ entity_id: "v1", operation: "CREATE", version: 1, data: expect.objectContaining({ name: "Ana" }) })]);
      const list = await fetch(`${server.url}/sync/device/list`, { headers: { authorization: `Bearer ${phone.accessToken}` } });
      expect(((await list.json()) as { total: number }).total).toBe(2);
    });

    it("rotates refresh tokens and revokes the family on reuse", async () => {
      const { tokens } = await register();
      const refresh = (token: string) => fetch(`${server.url}/auth/refresh`, json({ refresh_token: token }));
      const first = await refresh(tokens.refresh_token);
      expect(first.status).toBe(200);
      const rotated = (await first.json()) as { access_token: string; refresh_token: string };
      expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
      const second = await refresh(rotated.refresh_token);
      expect(second.status).toBe(200);
      const newest = (await second.json()) as { access_token: string; refresh_token: string };
      // The first token's successor has been used: presenting it again is reuse.
      const reused = await refresh(tokens.refresh_token);
      expect(reused.status).toBe(401);
      expect(await reused.json()).toMatchObject({ code: "REFRESH_TOKEN_REUSED" });
      expect((await refresh(newest.refresh_token)).status).toBe(401);
      expect((await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${newest.access_token}` } })).status).toBe(401);
    });

    it("kills the access token at once on logout", async () => {
      const { tokens } = await register();
      const me = () => fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect((await me()).status).toBe(200);
      const logout = await fetch(`${server.url}/auth/logout`, json({ refresh_token: tokens.refresh_token }, { authorization: `Bearer ${tokens.access_token}` }));
      expect(logout.status).toBeLessThan(300);
      const after = await me();
      expect(after.status).toBe(401);
      expect(after.headers.get("www-authenticate")).toMatch(/^Bearer/);
    });

    it("refuses a revoked device on its next call", async () => {
      const { email } = await register();
      const phone = await signInDevice(server.url, email, password, "Lost phone");
      const revoke = await phone.call(`/sync/device/${phone.deviceId}/revoke`, {});
      expect(revoke.status).toBe(200);
      const res = await phone.call("/sync/pull", { device_id: phone.deviceId, entity_types: ["volunteer"], since: null });
      expect([401, 403]).toContain(res.status);
    });

    it("limits wrong passwords per account and per address, whatever X-Forwarded-For says", async () => {
      const { email } = await register();
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${server.url}/auth/login`, json({ email, password: `wrong-${i}` }, { "x-forwarded-for": `203.0.113.${i}` }));
        statuses.push(res.status);
        if (res.status === 429) {
          expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
          break;
        }
      }
      expect(statuses).toContain(429);
      expect(statuses.indexOf(429)).toBeLessThanOrEqual(6);
    });

    it("answers bad input with the right 4xx and the error shape, never a 5xx", async () => {
      const { tokens } = await register();
      const auth = { authorization: `Bearer ${tokens.access_token}` };
      const malformed = await fetch(`${server.url}/sync/pull`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: "{" });
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ code: "MALFORMED_JSON" });
      const badLimit = await fetch(`${server.url}/sync/pull`, json({ device_id: "d", entity_types: ["volunteer"], since: null, limit: 0 }, auth));
      expect(badLimit.status).toBe(422);
      const body = (await badLimit.json()) as { detail: { loc: unknown[] }[] };
      expect(Array.isArray(body.detail)).toBe(true);
      const big = JSON.stringify({ device_id: "d", changes: [{ entity_type: "volunteer", entity_id: "x", operation: "CREATE", version: 0, data: { name: "x".repeat(300 * 1024) } }] });
      expect(await statusOnOwnConnection(`${server.url}/sync/push`, { ...auth, "content-type": "application/json" }, big)).toBe(413);
      const unknown = await fetch(`${server.url}/sync/nothing-here`, { headers: auth });
      expect(unknown.status).toBe(404);
      const noToken = await fetch(`${server.url}/sync/device/list`);
      expect(noToken.status).toBe(401);
    });
  });
}
