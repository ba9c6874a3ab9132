import { randomUUID } from "node:crypto";
import { TokenResponse } from "@repensar/contracts";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateSessionToken } from "../auth/sessions";
import type { Principal } from "../auth/principal";
import { startTestServer, type TestServer } from "../testing/harness";
import { createCaller, createInnerTrpcContext, handleTrpcRequest } from "./index";

interface User {
  tokens: TokenResponse;
  password: string;
  principal: Principal;
}

async function trpcCode(promise: Promise<unknown>): Promise<{ code: string; appCode: unknown }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) {
      const cause = error.cause;
      return { code: error.code, appCode: cause && "code" in cause ? cause.code : undefined };
    }
    throw error;
  }
  return { code: "OK", appCode: undefined };
}

describe("console routers", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ loginMaxAttempts: 500 });
  });
  afterAll(async () => {
    await server.close();
  });

  const caller = (principal: Principal | null) => createCaller(createInnerTrpcContext(server.app.context, { principal }));

  async function registerUser(): Promise<User> {
    const password = `password-${randomUUID()}`;
    const res = await server.fetch("/auth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `c-${randomUUID()}@example.com`, password, name: "Console user" }),
    });
    const tokens = TokenResponse.parse(await res.json());
    const principal: Principal = {
      userId: String(tokens.user.id),
      orgId: String(tokens.user.organization_id),
      role: "admin",
      deviceId: null,
      tokenId: "test",
      expiresAt: new Date(Date.now() + 3600_000),
    };
    return { tokens, password, principal };
  }

  async function addDevice(user: User, name = "Phone"): Promise<string> {
    const id = randomUUID();
    const res = await server.fetch("/sync/device/register", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${user.tokens.access_token}` },
      body: JSON.stringify({ device_id: id, device_name: name, device_type: "android", platform: "android" }),
    });
    expect(res.status).toBe(200);
    return id;
  }

  /** Invites a member into the admin's organization and accepts; answers the member's principal. */
  async function addMember(admin: User): Promise<Principal & { email: string; password: string }> {
    const email = `m-${randomUUID()}@example.com`;
    const invitation = await caller(admin.principal).members.invite({ email });
    const password = "member-password";
    const signedIn = await caller(null).members.acceptInvitation({ token: invitation.token, name: "Member", password });
    expect(signedIn.role).toBe("member");
    return { ...admin.principal, userId: String(signedIn.user.id), role: "member", email, password };
  }

  it("refuses anonymous callers and members where an admin is needed", async () => {
    expect(await trpcCode(caller(null).devices.list({}))).toMatchObject({ code: "UNAUTHORIZED", appCode: "UNAUTHORIZED" });
    const admin = await registerUser();
    const member = await addMember(admin);
    expect(await trpcCode(caller(member).members.invite({ email: "x@example.com" }))).toMatchObject({ code: "FORBIDDEN", appCode: "FORBIDDEN" });
  });

  it("lists the whole organization's devices for an admin, and a member's own for a member", async () => {
    const admin = await registerUser();
    const member = await addMember(admin);
    const adminDevice = await addDevice(admin, "Admin laptop");
    const memberTokens = TokenResponse.parse(
      await (
        await server.fetch("/auth/login", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: member.email, password: member.password }),
        })
      ).json(),
    );
    const memberDevice = await addDevice({ tokens: memberTokens, password: member.password, principal: member }, "Member phone");
    const stranger = await registerUser();
    await addDevice(stranger, "Stranger phone");

    const all = await caller(admin.principal).devices.list({});
    expect(all.devices.map((d) => d.device_id).sort()).toEqual([adminDevice, memberDevice].sort());
    expect(all.devices.find((d) => d.device_id === memberDevice)?.owner?.email).toBe(member.email);
    const own = await caller(member).devices.list({});
    expect(own.devices.map((d) => d.device_id)).toEqual([memberDevice]);
    const searched = await caller(admin.principal).devices.list({ search: "laptop" });
    expect(searched.devices.map((d) => d.device_id)).toEqual([adminDevice]);

    // A member cannot see or revoke the admin's device; another organization's admin neither.
    expect(await trpcCode(caller(member).devices.get({ deviceId: adminDevice }))).toMatchObject({ code: "NOT_FOUND", appCode: "DEVICE_NOT_FOUND" });
    expect(await trpcCode(caller(member).devices.revoke({ deviceId: adminDevice }))).toMatchObject({ code: "NOT_FOUND" });
    expect(await trpcCode(caller(stranger.principal).devices.revoke({ deviceId: memberDevice }))).toMatchObject({ code: "NOT_FOUND" });

    const detail = await caller(admin.principal).devices.get({ deviceId: memberDevice });
    expect(detail.device?.device_name).toBe("Member phone");
    expect(detail.recentAudit.map((e) => e.eventType)).toContain("DEVICE_REGISTERED");

    await caller(admin.principal).devices.revoke({ deviceId: memberDevice });
    expect((await server.fetch("/auth/me", { headers: { authorization: `Bearer ${memberTokens.access_token}` } })).status).toBe(401);
    expect((await caller(admin.principal).devices.list({ active: false })).devices.map((d) => d.device_id)).toEqual([memberDevice]);
  });

  it("changes roles, but never leaves an organization without an admin", async () => {
    const admin = await registerUser();
    const member = await addMember(admin);
    expect(await trpcCode(caller(admin.principal).members.changeRole({ userId: admin.principal.userId, role: "member" }))).toMatchObject({
      code: "FORBIDDEN",
    });
    expect(await trpcCode(caller(admin.principal).members.remove({ userId: admin.principal.userId }))).toMatchObject({ code: "FORBIDDEN" });
    const promoted = await caller(admin.principal).members.changeRole({ userId: member.userId, role: "admin" });
    expect(promoted.role).toBe("admin");
    const me = () => server.fetch("/auth/me", { headers: { authorization: `Bearer ${admin.tokens.access_token}` } });
    expect((await me()).status).toBe(200);
    await caller(admin.principal).members.changeRole({ userId: admin.principal.userId, role: "member" });
    // The demoted admin's REST tokens still say `admin`: they stop working at once.
    expect((await me()).status).toBe(401);
    const refreshed = await server.fetch("/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: admin.tokens.refresh_token }),
    });
    expect(refreshed.status).toBe(401);
    const { members } = await caller(admin.principal).members.list();
    expect(members.map((m) => [m.id, m.role]).sort()).toEqual([[admin.principal.userId, "member"], [member.userId, "admin"]].sort());
  });

  it("removes a member: they can no longer sign in", async () => {
    const admin = await registerUser();
    const member = await addMember(admin);
    await caller(admin.principal).members.remove({ userId: member.userId });
    const res = await server.fetch("/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: member.email, password: member.password }),
    });
    expect(res.status).toBe(401);
    expect(await trpcCode(caller(admin.principal).members.remove({ userId: member.userId }))).toMatchObject({ code: "NOT_FOUND", appCode: "USER_NOT_FOUND" });
  });

  it("accepts an invitation once", async () => {
    const admin = await registerUser();
    const invitation = await caller(admin.principal).members.invite({ email: `once-${randomUUID()}@example.com`, role: "admin" });
    expect((await caller(admin.principal).members.list()).invitations.map((i) => i.id)).toContain(invitation.id);
    const accepted = await caller(null).members.acceptInvitation({ token: invitation.token, name: "Once", password: "password-once" });
    expect(accepted.role).toBe("admin");
    expect(accepted.organization.id).toBe(admin.principal.orgId);
    expect(await trpcCode(caller(null).members.acceptInvitation({ token: invitation.token, name: "Twice", password: "password-twice" }))).toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("answers invalid input as UNPROCESSABLE_CONTENT with the issues", async () => {
    const admin = await registerUser();
    expect(await trpcCode(caller(admin.principal).members.invite({ email: "not-an-email" }))).toMatchObject({ code: "UNPROCESSABLE_CONTENT" });
  });

  describe("over HTTP at /api/trpc", () => {
    const origin = "http://console.test";
    const call = (path: string, init: RequestInit = {}) => handleTrpcRequest(server.app, new Request(`${origin}/api/trpc/${path}`, init), { remoteAddress: "127.0.0.1" });

    it("signs in with a session cookie, answers me, checks Origin, and signs out", async () => {
      const user = await registerUser();
      const body = JSON.stringify({ email: user.tokens.user.email, password: user.password });
      const refused = await call("auth.signIn", { method: "POST", headers: { "content-type": "application/json", origin: "https://evil.example" }, body });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { data: { appCode: string } } }).error.data.appCode).toBe("ORIGIN_MISMATCH");

      const res = await call("auth.signIn", { method: "POST", headers: { "content-type": "application/json", origin }, body });
      expect(res.status).toBe(200);
      const cookie = res.headers.get("set-cookie") ?? "";
      expect(cookie).toMatch(/^repensar_session=[a-z2-7]{32}; /);
      expect(cookie).toContain("HttpOnly");
      expect(cookie).toContain("SameSite=Lax");
      const token = /^repensar_session=([^;]+)/.exec(cookie)?.[1] ?? "";
      expect((await validateSessionToken(server.app.context, token))?.principal.userId).toBe(user.principal.userId);

      const me = await call("auth.me", { headers: { cookie: `repensar_session=${token}` } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { result: { data: { user: { email: string } } } }).result.data.user.email).toBe(user.tokens.user.email);

      const anonymous = await call("auth.me");
      expect(anonymous.status).toBe(401);

      const crossSite = await call("auth.signOut", { method: "POST", headers: { "content-type": "application/json", cookie: `repensar_session=${token}`, origin: "https://evil.example" } });
      expect(crossSite.status).toBe(403);
      const out = await call("auth.signOut", { method: "POST", headers: { "content-type": "application/json", cookie: `repensar_session=${token}`, origin } });
      expect(out.status).toBe(200);
      expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
      expect((await call("auth.me", { headers: { cookie: `repensar_session=${token}` } })).status).toBe(401);
    });

    it("answers a wrong password like an unknown email", async () => {
      const user = await registerUser();
      const wrong = await call("auth.signIn", {
        method: "POST",
        headers: { "content-type": "application/json", origin },
        body: JSON.stringify({ email: user.tokens.user.email, password: "wrong-password" }),
      });
      const unknown = await call("auth.signIn", {
        method: "POST",
        headers: { "content-type": "application/json", origin },
        body: JSON.stringify({ email: `nobody-${randomUUID()}@example.com`, password: "wrong-password" }),
      });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      const message = async (r: Response) => ((await r.json()) as { error: { message: string; data: { appCode: string } } }).error;
      expect(await message(wrong)).toMatchObject({ message: "Incorrect email or password", data: { appCode: "INVALID_CREDENTIALS" } });
      expect(await message(unknown)).toMatchObject({ message: "Incorrect email or password", data: { appCode: "INVALID_CREDENTIALS" } });
    });
  });
});
