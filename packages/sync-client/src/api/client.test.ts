import { describe, expect, it } from "vitest";
import { createMemoryStore } from "../stores/memory";
import { SyncManager } from "../sync-manager";
import { isAuthenticatedOffline } from "../tokens/jwt";
import { createMemoryTokenStore } from "../tokens/token-store";
import { createApiClient, type RevokedReason } from "./client";
import { ApiError } from "./errors";

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** A JWT-shaped token (unsigned: only the client's offline check reads it). */
const jwt = (payload: Record<string, unknown>) => `e30.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.sig`;

const tokenAnswer = (access: string, refresh: string) => ({
  access_token: access,
  refresh_token: refresh,
  token_type: "bearer",
  expires_in: 1800,
  user: { id: "u1", email: "u@example.org", name: "U" },
});

const pullAnswer = { changes: [], sync_token: "t1", has_more: false, total_changes: 0 };
const me = { user: { id: "u1", email: "u@example.org", name: "U" }, organization: { id: "o", name: "O" }, role: "admin", device_id: null };

type Handler = (path: string, init: RequestInit) => Response | Promise<Response>;

function fakeFetch(handler: Handler): { fetch: typeof fetch; calls: { path: string; auth: string | null }[] } {
  const calls: { path: string; auth: string | null }[] = [];
  const fn: typeof fetch = async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init.headers);
    calls.push({ path: url.pathname, auth: headers.get("authorization") });
    return handler(url.pathname, init);
  };
  return { fetch: fn, calls };
}

describe("the REST client", () => {
  it("refreshes once for concurrent 401s and retries each call with the new token", async () => {
    const tokens = createMemoryTokenStore({ access_token: "old", refresh_token: "r1", expires_at: null });
    const { fetch, calls } = fakeFetch(async (path, init) => {
      if (path === "/auth/refresh") {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return json(200, tokenAnswer("new", "r2"));
      }
      const auth = new Headers(init.headers).get("authorization");
      return auth === "Bearer new" ? json(200, me) : json(401, { detail: "The access token has expired", code: "TOKEN_EXPIRED" });
    });
    const api = createApiClient({ baseUrl: "http://sync.test", fetch, tokens });
    const answers = await Promise.all([api.me(), api.me(), api.me()]);
    expect(answers.map((a) => a.role)).toEqual(["admin", "admin", "admin"]);
    expect(calls.filter((c) => c.path === "/auth/refresh")).toHaveLength(1);
    expect(await tokens.load()).toMatchObject({ access_token: "new", refresh_token: "r2" });
  });

  it("clears the tokens and reports revocation on 403 DEVICE_INACTIVE", async () => {
    const tokens = createMemoryTokenStore({ access_token: "a", refresh_token: "r", expires_at: null });
    const reasons: RevokedReason[] = [];
    const { fetch } = fakeFetch(() => json(403, { detail: "Device not registered or inactive", code: "DEVICE_INACTIVE" }));
    const api = createApiClient({ baseUrl: "http://sync.test", fetch, tokens, onRevoked: (reason) => void reasons.push(reason) });
    await expect(api.pull({ device_id: "d", entity_types: ["volunteer"] })).rejects.toMatchObject({ code: "DEVICE_INACTIVE", revoked: true, retryable: false });
    expect(await tokens.load()).toBeNull();
    expect(reasons).toEqual(["device_inactive"]);
  });

  it("ends the session when the refresh token is refused", async () => {
    const tokens = createMemoryTokenStore({ access_token: "a", refresh_token: "r", expires_at: null });
    const { fetch } = fakeFetch((path) =>
      path === "/auth/refresh"
        ? json(401, { detail: "The refresh token is not valid", code: "REFRESH_TOKEN_INVALID" })
        : json(401, { detail: "The access token has been revoked", code: "TOKEN_REVOKED" }),
    );
    const api = createApiClient({ baseUrl: "http://sync.test", fetch, tokens });
    await expect(api.me()).rejects.toMatchObject({ revoked: true });
    expect(await tokens.load()).toBeNull();
  });

  it("marks network failures, 5xx and 429 as retryable and reads Retry-After", async () => {
    const tokens = createMemoryTokenStore({ access_token: "a", refresh_token: "r", expires_at: null });
    const down = createApiClient({
      baseUrl: "http://sync.test",
      tokens,
      fetch: async () => {
        throw new TypeError("fetch failed");
      },
    });
    await expect(down.me()).rejects.toMatchObject({ code: "NETWORK_ERROR", status: 0, retryable: true });
    const busy = createApiClient({ baseUrl: "http://sync.test", tokens, fetch: fakeFetch(() => json(429, { detail: "Too many requests; retry later", code: "RATE_LIMITED" }, { "retry-after": "3" })).fetch });
    const error = await busy.me().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 3000, message: "Too many requests; retry later" });
    // A CDN's own status (520) in front of the server's 503: the code still says "come back later".
    const unavailable = createApiClient({
      baseUrl: "http://sync.test",
      tokens,
      fetch: fakeFetch(() => json(520, { detail: "The database is not reachable; retry later.", code: "SERVICE_UNAVAILABLE" }, { "retry-after": "5" })).fetch,
    });
    await expect(unavailable.me()).rejects.toMatchObject({ code: "SERVICE_UNAVAILABLE", retryable: true, retryAfterMs: 5000 });
    const wrong = createApiClient({ baseUrl: "http://sync.test", tokens, fetch: fakeFetch(() => json(404, { detail: "Conflict not found", code: "CONFLICT_NOT_FOUND" })).fetch });
    await expect(wrong.resolveConflict("x", { resolution: "server_wins" })).rejects.toMatchObject({ code: "CONFLICT_NOT_FOUND", retryable: false });
  });

  it("refuses an answer that does not match the contract", async () => {
    const tokens = createMemoryTokenStore({ access_token: "a", refresh_token: "r", expires_at: null });
    const api = createApiClient({ baseUrl: "http://sync.test", tokens, fetch: fakeFetch(() => json(200, { changes: "nope" })).fetch });
    await expect(api.pull({ device_id: "d", entity_types: ["volunteer"] })).rejects.toMatchObject({ code: "INVALID_RESPONSE" });
  });
});

describe("SyncManager retries", () => {
  it("backs off exponentially with jitter, never sooner than Retry-After, then carries on", async () => {
    const tokens = createMemoryTokenStore({ access_token: "a", refresh_token: "r", expires_at: null });
    let pulls = 0;
    const { fetch } = fakeFetch((path) => {
      if (path === "/sync/device/register") return json(200, { device_id: "d", registered_at: "2026-01-01T00:00:00Z", last_sync_at: null, message: "ok" });
      pulls += 1;
      if (pulls === 1) return json(503, { detail: "The service is temporarily unavailable", code: "SERVICE_UNAVAILABLE" });
      if (pulls === 2) return json(429, { detail: "Too many requests; retry later", code: "RATE_LIMITED" }, { "retry-after": "7" });
      if (pulls === 3) return json(502, { detail: "Bad gateway", code: "HTTP_502" });
      return json(200, pullAnswer);
    });
    const delays: number[] = [];
    const manager = new SyncManager({
      api: createApiClient({ baseUrl: "http://sync.test", fetch, tokens }),
      store: createMemoryStore(),
      tokens,
      device: { device_id: "d", device_name: "D", device_type: "desktop", platform: "linux" },
      baseDelayMs: 1000,
      random: () => 0.5,
      sleep: async (ms) => void delays.push(ms),
    });
    expect(await manager.sync()).toEqual({ pulled: 0, pushed: 0, conflicts: 0, failed: 0 });
    expect(delays).toEqual([500, 7000, 2000]);
  });

  it("gives up after maxAttempts and keeps the outbox", async () => {
    const tokens = createMemoryTokenStore({ access_token: "a", refresh_token: "r", expires_at: null });
    const store = createMemoryStore();
    await store.create("volunteer", { name: "Kept" });
    const manager = new SyncManager({
      api: createApiClient({ baseUrl: "http://sync.test", tokens, fetch: async () => Promise.reject(new TypeError("offline")) }),
      store,
      tokens,
      device: { device_id: "d", device_name: "D", device_type: "desktop", platform: "linux" },
      maxAttempts: 3,
      sleep: async () => {},
    });
    let retries = 0;
    manager.on("retry", () => void (retries += 1));
    await expect(manager.sync()).rejects.toMatchObject({ code: "NETWORK_ERROR" });
    expect(retries).toBe(2);
    expect(await store.pendingCount()).toBe(1);
  });
});

describe("offline sign-in check", () => {
  it("accepts the stored access token until its exp", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const at = (exp: number) => ({ access_token: jwt({ exp: exp / 1000 }), refresh_token: "r", expires_at: null });
    expect(isAuthenticatedOffline(at(now + 60_000), now)).toBe(true);
    expect(isAuthenticatedOffline(at(now - 1000), now)).toBe(false);
    expect(isAuthenticatedOffline(null, now)).toBe(false);
    expect(isAuthenticatedOffline({ access_token: "not a jwt", refresh_token: "r", expires_at: null }, now)).toBe(false);
  });
});
