import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { statusOnOwnConnection } from "@repensar/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInDevice } from "./rest";
import { startConsole, type ConsoleProcess } from "./server-process";

const MAX_BODY_BYTES = 64 * 1024;
const LOGIN_MAX_ATTEMPTS = 3;

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A request exactly as given, on a connection of its own: the path is not normalised, and a body
 * given as chunks goes out chunked, announcing no length.
 */
function rawRequest(url: string, method: string, path: string, headers: Record<string, string> = {}, chunks?: string[]): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = request({ hostname, port, method, path, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    // The server may answer and close before the whole body is sent: the answer is what counts.
    req.on("error", (error) => (req.destroyed ? undefined : reject(error)));
    for (const chunk of chunks ?? []) req.write(chunk);
    req.end();
  });
}

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/**
 * What attacking the running server found (issue 10), each as a client meets it over HTTP against
 * the production build: bodies over the limit, sign-in lockouts, unstorable text, out-of-range
 * instants and malformed paths.
 */
export function hardeningSuite(name: string, env: () => Record<string, string>): void {
  describe(`hardening of the built console on ${name}`, () => {
    let server: ConsoleProcess;
    const password = "correct horse battery staple";
    beforeAll(async () => {
      server = await startConsole({
        ...env(),
        MAX_BODY_BYTES: String(MAX_BODY_BYTES),
        LOGIN_MAX_ATTEMPTS: String(LOGIN_MAX_ATTEMPTS),
        // The tests speak for many addresses through X-Forwarded-For.
        TRUST_PROXY: "true",
      });
    });
    afterAll(async () => {
      await server?.stop();
    });

    let registrations = 0;
    /** A new account, each from an address of its own (registrations are limited per address too). */
    async function register(address = `192.0.2.${++registrations}`): Promise<{ email: string; accessToken: string }> {
      const email = `hardening-${randomUUID()}@example.org`;
      const res = await fetch(`${server.url}/auth/register`, post({ email, password, name: "Hardening" }, { "x-forwarded-for": address }));
      expect(res.status).toBe(201);
      return { email, accessToken: ((await res.json()) as { access_token: string }).access_token };
    }

    const login = (email: string, pass: string, address: string) =>
      fetch(`${server.url}/auth/login`, post({ email, password: pass }, { "x-forwarded-for": address }));

    /** A console session: the cookie `auth.signIn` sets. */
    async function consoleSession(email: string, address: string): Promise<string> {
      const res = await fetch(`${server.url}/api/trpc/auth.signIn`, post({ email, password }, { origin: server.url, "x-forwarded-for": address }));
      expect(res.status).toBe(200);
      const cookie = res.headers.get("set-cookie") ?? "";
      return cookie.split(";")[0] ?? "";
    }

    describe("the body limit (MAX_BODY_BYTES)", () => {
      const oversized = JSON.stringify({ email: "someone@example.org", password: "x".repeat(MAX_BODY_BYTES) });

      it("answers 413 on the console's tRPC endpoint for a body that announces its length", async () => {
        const status = await statusOnOwnConnection(`${server.url}/api/trpc/auth.signIn`, { "content-type": "application/json", origin: server.url }, oversized);
        expect(status).toBe(413);
      });

      it("answers 413 for chunked bodies that announce nothing, on tRPC and REST alike", async () => {
        const chunks = Array.from({ length: 40 }, () => "x".repeat(4096));
        for (const path of ["/api/trpc/auth.signIn", "/auth/login", "/auth/register"]) {
          const res = await rawRequest(server.url, "POST", path, { "content-type": "application/json", origin: server.url }, ['{"email":"', ...chunks, '"}']);
          expect(res.status, path).toBe(413);
          expect(JSON.parse(res.body), path).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
        }
      });

      it("still takes a body under the limit on tRPC", async () => {
        const res = await fetch(`${server.url}/api/trpc/auth.signIn`, post({ email: "nobody@example.org", password: "wrong" }, { origin: server.url }));
        expect(res.status).toBe(401);
      });
    });

    describe("sign-in throttling", () => {
      it("does not lock the owner out of their own address, whatever is guessed from elsewhere", async () => {
        const { email } = await register();
        const home = "198.51.100.7";
        expect((await login(email, password, home)).status).toBe(200);
        const attackers: number[] = [];
        for (let i = 0; i < 4 * LOGIN_MAX_ATTEMPTS; i++) attackers.push((await login(email, `guess-${i}`, `203.0.113.${i}`)).status);
        // Past the account's allowance, addresses it does not know wait out growing delays...
        expect(attackers).toContain(429);
        expect(attackers.filter((s) => s !== 401 && s !== 429)).toEqual([]);
        // ...but the address the owner signed in from before is not one of them.
        expect((await login(email, password, home)).status).toBe(200);
      });

      it("limits one address strictly per account, the right password included", async () => {
        const { email } = await register();
        const address = "203.0.113.200";
        for (let i = 0; i < LOGIN_MAX_ATTEMPTS; i++) expect((await login(email, `guess-${i}`, address)).status).toBe(401);
        const limited = await login(email, password, address);
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      });

      it("does not count successful sign-ins against an address's allowance", async () => {
        const { email } = await register();
        const address = "198.51.100.8";
        // The address's allowance across accounts is LOGIN_MAX_ATTEMPTS × 5 attempts.
        const statuses: number[] = [];
        for (let i = 0; i < LOGIN_MAX_ATTEMPTS * 5 + 2; i++) statuses.push((await login(email, password, address)).status);
        expect(new Set(statuses)).toEqual(new Set([200]));
      });
    });

    describe("text PostgreSQL cannot store: 422 naming the field, everywhere", () => {
      const issuesOf = async (res: Response): Promise<{ loc: unknown[]; type: string }[]> => {
        expect(res.status).toBe(422);
        const body = (await res.json()) as { code: string; detail: { loc: unknown[]; type: string }[] };
        expect(body.code).toBe("VALIDATION_ERROR");
        return body.detail;
      };

      it("refuses NUL and lone surrogates in REST bodies and paths", async () => {
        const registered = await fetch(`${server.url}/auth/register`, post({ email: `nul-${randomUUID()}@example.org`, password, name: "a\u0000b" }));
        expect(await issuesOf(registered)).toEqual([expect.objectContaining({ loc: ["body", "name"], type: "string_unstorable" })]);

        const { email } = await register();
        const loginLone = await fetch(`${server.url}/auth/login`, post({ email, password, device_id: "phone-\ud800" }, { "x-forwarded-for": "192.0.2.50" }));
        expect(await issuesOf(loginLone)).toEqual([expect.objectContaining({ loc: ["body", "device_id"] })]);

        const phone = await signInDevice(server.url, email, password, "Phone");
        const device = { device_id: randomUUID(), device_name: "Tablet", device_type: "android", platform: "android", os_version: "14", app_version: "2.3.0", push_token: "fcm" };
        for (const field of ["device_id", "device_name", "os_version", "app_version", "push_token"] as const) {
          for (const bad of ["x\u0000y", "x\udc00y"]) {
            const res = await phone.call("/sync/device/register", { ...device, [field]: bad });
            expect((await issuesOf(res)).map((i) => i.loc), `${field} ${JSON.stringify(bad)}`).toEqual([["body", field]]);
          }
        }
        const revoke = await phone.call("/sync/device/%00/revoke", {});
        expect((await issuesOf(revoke)).map((i) => i.loc)).toEqual([["path", "device_id"]]);
        const pull = await phone.call("/sync/pull", { device_id: phone.deviceId, entity_types: ["volunteer\u0000"], since: null });
        expect((await issuesOf(pull)).map((i) => i.loc)).toContainEqual(["body", "entity_types", 0]);
      });

      it("refuses them in the console's filters", async () => {
        const { email } = await register();
        const cookie = await consoleSession(email, "192.0.2.60");
        const query = async (procedure: string, input: unknown) => {
          const res = await fetch(`${server.url}/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers: { cookie } });
          return { status: res.status, body: (await res.json()) as { error?: { data?: { appCode?: string; issues?: { loc: unknown[] }[] } } } };
        };
        const cases: [string, unknown, unknown[]][] = [
          ["devices.list", { search: "a\u0000" }, ["input", "search"]],
          ["devices.get", { deviceId: "\ud800" }, ["input", "deviceId"]],
          ["conflicts.list", { deviceId: "a\u0000" }, ["input", "deviceId"]],
          ["sync.status", { deviceId: "a\u0000" }, ["input", "deviceId"]],
          ["entities.browse", { entity_type: "volunteer", search: "\udfff" }, ["input", "search"]],
          ["audit.list", { device_id: "a\u0000" }, ["input", "device_id"]],
          ["audit.list", { event_type: "LOGIN\u0000" }, ["input", "event_type"]],
        ];
        for (const [procedure, input, loc] of cases) {
          const answer = await query(procedure, input);
          expect(answer.status, procedure).toBe(422);
          expect(answer.body.error?.data?.appCode, procedure).toBe("VALIDATION_ERROR");
          expect(answer.body.error?.data?.issues?.map((i) => i.loc), procedure).toEqual([loc]);
        }
      });
    });

    describe("instants PostgreSQL cannot store", () => {
      it("pulls from year 1 with the margin clamped, and refuses a `since` past year 9999", async () => {
        const { email } = await register();
        const phone = await signInDevice(server.url, email, password, "Phone");
        await phone.push([{ entity_type: "volunteer", entity_id: randomUUID(), operation: "CREATE", version: 0, data: { name: "Ana" } }]);
        const early = await phone.call("/sync/pull", { device_id: phone.deviceId, entity_types: ["volunteer"], since: "0001-01-01T00:00:00Z" });
        expect(early.status).toBe(200);
        expect(((await early.json()) as { changes: unknown[] }).changes).toHaveLength(1);
        const late = await phone.call("/sync/pull", { device_id: phone.deviceId, entity_types: ["volunteer"], since: "9999-12-31T23:59:59-14:00" });
        expect(late.status).toBe(422);
        expect(((await late.json()) as { detail: { loc: unknown[] }[] }).detail.map((i) => i.loc)).toEqual([["body", "since"]]);
      });

      it("records a conflict whose modified_at is year 0 instead of failing the push", async () => {
        const { email } = await register();
        const phone = await signInDevice(server.url, email, password, "Phone");
        const id = randomUUID();
        await phone.push([{ entity_type: "volunteer", entity_id: id, operation: "CREATE", version: 0, data: { name: "Ana" } }]);
        await phone.push([{ entity_type: "volunteer", entity_id: id, operation: "UPDATE", version: 1, data: { name: "Ana B" } }]);
        const fresh = randomUUID();
        const res = await phone.call("/sync/push", {
          device_id: phone.deviceId,
          changes: [
            { entity_type: "volunteer", entity_id: fresh, operation: "CREATE", version: 0, data: { name: "New" } },
            { entity_type: "volunteer", entity_id: id, operation: "UPDATE", version: 1, data: { name: "Stale" }, modified_at: "0000-01-01T00:00:00Z" },
          ],
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { results: { status: string }[]; conflicts: { client_modified_at: string }[] };
        expect(body.results.map((r) => r.status)).toEqual(["applied", "conflict"]);
        expect(body.conflicts[0]?.client_modified_at).toBe("0100-01-01T00:00:00.000Z");
      });

      it("refuses a console `from` of year 0", async () => {
        const { email } = await register();
        const cookie = await consoleSession(email, "192.0.2.61");
        for (const [procedure, input] of [
          ["audit.list", { from: "0000-01-01T00:00:00Z" }],
          ["sync.activity", { bucket: "day", from: "0000-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z" }],
        ] as const) {
          const res = await fetch(`${server.url}/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers: { cookie } });
          expect(res.status, procedure).toBe(422);
          const body = (await res.json()) as { error: { data: { issues: { loc: unknown[] }[] } } };
          expect(body.error.data.issues.map((i) => i.loc), procedure).toEqual([["input", "from"]]);
        }
      });
    });

    it("answers malformed percent-encoding with 400 and the JSON error body", async () => {
      const { accessToken } = await register();
      for (const path of ["/sync/%zz", "/auth/%", "/sync/device/%E0%A4%A/revoke", "/api/trpc/%ff"]) {
        const res = await rawRequest(server.url, path.includes("revoke") ? "POST" : "GET", path, { authorization: `Bearer ${accessToken}` });
        expect(res.status, path).toBe(400);
        expect(String(res.headers["content-type"]), path).toMatch(/^application\/json/);
        expect(JSON.parse(res.body), path).toEqual({ detail: expect.any(String), code: "BAD_REQUEST", request_id: expect.any(String) });
      }
    });
  });
}
