import { randomUUID } from "node:crypto";
import { ChangePasswordResponse, ErrorBody, TokenResponse } from "@repensar/contracts";
import { schema } from "@repensar/db";
import { TRPCError } from "@trpc/server";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryStore } from "../kv/memory";
import { startTestServer, type TestServer } from "../testing/harness";
import { createCaller, createInnerTrpcContext } from "../trpc/index";
import { createSession, validateSessionToken } from "./sessions";

function post(body: unknown, token?: string): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  };
}

async function errorOf(res: Response): Promise<ErrorBody & { status: number }> {
  return { status: res.status, ...ErrorBody.parse(await res.json()) };
}

interface User {
  email: string;
  password: string;
  tokens: TokenResponse;
}

async function register(server: TestServer): Promise<User> {
  const email = `pw-${randomUUID()}@example.com`;
  const password = `password-${randomUUID()}`;
  const res = await server.fetch("/auth/register", post({ email, password, name: "Pat" }));
  expect(res.status).toBe(201);
  return { email, password, tokens: TokenResponse.parse(await res.json()) };
}

const login = (server: TestServer, email: string, password: string) => server.fetch("/auth/login", post({ email, password }));
const refresh = (server: TestServer, refreshToken: string) => server.fetch("/auth/refresh", post({ refresh_token: refreshToken }));
const changePassword = (server: TestServer, token: string, body: unknown) => server.fetch("/auth/password", post(body, token));

describe("POST /auth/password", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ loginMaxAttempts: 500 });
  });
  afterAll(async () => {
    await server.close();
  });

  it("sets the new password and ends every sign-in made with the old one", async () => {
    const user = await register(server);
    const otherDevice = TokenResponse.parse(await (await login(server, user.email, user.password)).json());
    const newPassword = `new-${randomUUID()}`;

    const res = await changePassword(server, user.tokens.access_token, { current_password: user.password, new_password: newPassword });
    expect(res.status).toBe(200);
    expect(ChangePasswordResponse.parse(await res.json()).sign_ins_ended).toBe(2);

    expect(await errorOf(await login(server, user.email, user.password))).toMatchObject({ status: 401, code: "INVALID_CREDENTIALS" });
    expect((await login(server, user.email, newPassword)).status).toBe(200);
    expect(await errorOf(await refresh(server, user.tokens.refresh_token))).toMatchObject({ status: 401, code: "REFRESH_TOKEN_INVALID" });
    expect(await errorOf(await refresh(server, otherDevice.refresh_token))).toMatchObject({ status: 401, code: "REFRESH_TOKEN_INVALID" });
    // The caller's own access token belonged to an ended sign-in.
    expect((await server.fetch("/auth/me", { headers: { authorization: `Bearer ${user.tokens.access_token}` } })).status).toBe(401);

    const audited = await server.app.context.database.db
      .select({ details: schema.auditLog.details })
      .from(schema.auditLog)
      .where(and(eq(schema.auditLog.eventType, "PASSWORD_CHANGED"), eq(schema.auditLog.userId, String(user.tokens.user.id))));
    expect(audited).toHaveLength(1);
  });

  it("refuses a wrong current password with 401 and changes nothing", async () => {
    const user = await register(server);
    const res = await changePassword(server, user.tokens.access_token, { current_password: "not-the-password", new_password: "whatever-new-1" });
    expect(await errorOf(res)).toMatchObject({ status: 401, code: "INVALID_CREDENTIALS", detail: "The current password is not correct." });
    expect((await refresh(server, user.tokens.refresh_token)).status).toBe(200);
    expect((await login(server, user.email, user.password)).status).toBe(200);
    expect(await errorOf(await login(server, user.email, "whatever-new-1"))).toMatchObject({ status: 401 });
  });

  it("refuses a new password shorter than 8 characters with 422", async () => {
    const user = await register(server);
    const res = await changePassword(server, user.tokens.access_token, { current_password: user.password, new_password: "short" });
    const body = await errorOf(res);
    expect(body).toMatchObject({ status: 422, code: "VALIDATION_ERROR" });
    expect(JSON.stringify(body.detail)).toContain("new_password");
    expect((await login(server, user.email, user.password)).status).toBe(200);
  });

  it("needs a Bearer token", async () => {
    const res = await server.fetch("/auth/password", post({ current_password: "anything", new_password: "anything-else" }));
    expect(await errorOf(res)).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });
});

describe("POST /auth/password against guessing", () => {
  let server: TestServer;
  beforeAll(async () => {
    // A store of its own: the address's count must not include other files' sign-ins.
    server = await startTestServer({ loginMaxAttempts: 3 }, { kv: createMemoryStore() });
  });
  afterAll(async () => {
    await server.close();
  });

  it("counts wrong current passwords against the account, then answers 429 even to the right one", async () => {
    const user = await register(server);
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await changePassword(server, user.tokens.access_token, { current_password: `guess-${attempt}`, new_password: "attacker-password" });
      expect(res.status).toBe(401);
    }
    const limited = await changePassword(server, user.tokens.access_token, { current_password: user.password, new_password: "attacker-password" });
    expect(await errorOf(limited)).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // The same allowance guards sign-in: the account is not open to guessing there either.
    expect((await login(server, user.email, user.password)).status).toBe(429);
  });
});

describe("auth.changePassword (console)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ loginMaxAttempts: 500 });
  });
  afterAll(async () => {
    await server.close();
  });

  async function consoleSession(user: User) {
    const { token } = await createSession(server.app.context, { userId: String(user.tokens.user.id), orgId: String(user.tokens.user.organization_id) });
    const valid = await validateSessionToken(server.app.context, token);
    if (!valid) throw new TypeError("A session just created did not validate");
    return { token, principal: valid.principal };
  }

  const caller = (principal: Parameters<typeof createInnerTrpcContext>[1]["principal"]) =>
    createCaller(createInnerTrpcContext(server.app.context, { principal }));

  it("keeps the session that asked and ends the others, console and device alike", async () => {
    const user = await register(server);
    const current = await consoleSession(user);
    const other = await consoleSession(user);
    const newPassword = `new-${randomUUID()}`;

    const answer = await caller(current.principal).auth.changePassword({ currentPassword: user.password, newPassword });
    expect(answer.sign_ins_ended).toBe(1);

    expect(await validateSessionToken(server.app.context, current.token)).not.toBeNull();
    expect(await validateSessionToken(server.app.context, other.token)).toBeNull();
    expect((await refresh(server, user.tokens.refresh_token)).status).toBe(401);
    expect((await login(server, user.email, newPassword)).status).toBe(200);
  });

  it("answers a wrong current password with INVALID_CREDENTIALS, not a lost session", async () => {
    const user = await register(server);
    const current = await consoleSession(user);
    const failure = await caller(current.principal)
      .auth.changePassword({ currentPassword: "not-the-password", newPassword: "whatever-new-1" })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(TRPCError);
    expect(failure instanceof TRPCError && failure.cause && "code" in failure.cause ? failure.cause.code : undefined).toBe("INVALID_CREDENTIALS");
    expect(await validateSessionToken(server.app.context, current.token)).not.toBeNull();
  });
});
