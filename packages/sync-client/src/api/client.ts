import {
  ConflictListQuery,
  ConflictListResponse,
  DeviceListQuery,
  DeviceListResponse,
  DeviceRegisterRequest,
  DeviceRegisterResponse,
  DeviceRevokeResponse,
  LoginRequest,
  LogoutResponse,
  MeResponse,
  PROTOCOL_HEADER,
  PROTOCOL_VERSION,
  PullRequest,
  PullResponse,
  PushRequest,
  PushResponse,
  RegisterRequest,
  ResolveConflictRequest,
  ResolveConflictResponse,
  SyncStatusQuery,
  SyncStatusResponse,
  TokenResponse,
} from "@repensar/contracts";
import type { z } from "zod";
import type { Tokens, TokenStore } from "../tokens/token-store";
import { ApiError, ClientErrorCode, errorFromResponse, parseRetryAfter } from "./errors";

/** Why the client cleared its tokens: the device was revoked, or the server ended the session. */
export type RevokedReason = "device_inactive" | "session_ended";

export interface ApiClientOptions {
  /** The server's root, e.g. `https://sync.example.org` (paths are appended). */
  readonly baseUrl: string;
  readonly fetch?: typeof fetch;
  readonly tokens: TokenStore;
  /** Called after the tokens were cleared because the server refused this device or session for good. */
  readonly onRevoked?: (reason: RevokedReason) => void | Promise<void>;
  /** Unix ms; for `expires_at` and `Retry-After` dates. */
  readonly now?: () => number;
}

/**
 * One typed method per REST endpoint. Requests are checked against the contract before they
 * leave, responses after they arrive. Authenticated calls carry the stored access token; a 401
 * refreshes it once (one refresh at a time, shared by concurrent calls) and retries.
 */
export interface ApiClient {
  /** `POST /auth/register`; stores the tokens. */
  register(body: z.input<typeof RegisterRequest>): Promise<TokenResponse>;
  /** `POST /auth/login`; stores the tokens. */
  login(body: z.input<typeof LoginRequest>): Promise<TokenResponse>;
  /** `POST /auth/refresh` with the stored refresh token; stores the new pair. */
  refresh(): Promise<Tokens>;
  /** `POST /auth/logout`; clears the stored tokens once the server has answered. */
  logout(): Promise<LogoutResponse>;
  me(): Promise<MeResponse>;
  registerDevice(body: z.input<typeof DeviceRegisterRequest>): Promise<DeviceRegisterResponse>;
  listDevices(query?: z.input<typeof DeviceListQuery>): Promise<DeviceListResponse>;
  revokeDevice(deviceId: string): Promise<DeviceRevokeResponse>;
  pull(body: z.input<typeof PullRequest>): Promise<PullResponse>;
  push(body: z.input<typeof PushRequest>): Promise<PushResponse>;
  listConflicts(query?: z.input<typeof ConflictListQuery>): Promise<ConflictListResponse>;
  resolveConflict(conflictId: string, body: z.input<typeof ResolveConflictRequest>): Promise<ResolveConflictResponse>;
  status(query: z.input<typeof SyncStatusQuery>): Promise<SyncStatusResponse>;
}

interface Call<T> {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly response: z.ZodType<T>;
  readonly auth: boolean;
}

/** Codes of a 401 on refresh that mean the session is over; anything else (network, 5xx) may pass. */
const SESSION_OVER = new Set(["REFRESH_TOKEN_INVALID", "REFRESH_TOKEN_REUSED", "TOKEN_REVOKED", "UNAUTHORIZED", "TOKEN_INVALID"]);

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const tokens = options.tokens;
  let refreshing: Promise<Tokens> | null = null;

  async function send(call: Call<unknown>, accessToken: string | null): Promise<Response> {
    const url = new URL(baseUrl + call.path);
    for (const [key, value] of Object.entries(call.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { accept: "application/json", [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) };
    if (call.body !== undefined) headers["content-type"] = "application/json";
    if (accessToken !== null) headers["authorization"] = `Bearer ${accessToken}`;
    const init: RequestInit = { method: call.method, headers };
    if (call.body !== undefined) init.body = JSON.stringify(call.body);
    try {
      return await doFetch(url, init);
    } catch (error) {
      throw new ApiError(`Could not reach the server at ${baseUrl}`, {
        code: ClientErrorCode.NetworkError,
        status: 0,
        retryable: true,
        cause: error,
      });
    }
  }

  async function readBody(response: Response): Promise<unknown> {
    const text = await response.text().catch((error: unknown) => {
      throw new ApiError(`The connection to ${baseUrl} broke while reading the answer`, {
        code: ClientErrorCode.NetworkError,
        status: 0,
        retryable: true,
        cause: error,
      });
    });
    if (text === "") return null;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ApiError(`The server at ${baseUrl} answered with something that is not JSON`, {
        code: ClientErrorCode.InvalidResponse,
        status: response.status,
        retryable: response.status >= 500,
        cause: error,
      });
    }
  }

  async function settle<T>(call: Call<T>, response: Response): Promise<T> {
    const body = await readBody(response);
    if (!response.ok) throw errorFromResponse(response.status, body, parseRetryAfter(response.headers.get("retry-after"), now()));
    const parsed = call.response.safeParse(body);
    if (!parsed.success) {
      throw new ApiError(`The server's answer to ${call.method} ${call.path} does not match the contract`, {
        code: ClientErrorCode.InvalidResponse,
        status: response.status,
        retryable: false,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  async function revoked(reason: RevokedReason, error: ApiError): Promise<ApiError> {
    await tokens.clear();
    await options.onRevoked?.(reason);
    return new ApiError(error.message, { code: error.code, status: error.status, retryable: false, revoked: true, cause: error });
  }

  async function storeTokens(answer: TokenResponse): Promise<Tokens> {
    const stored: Tokens = {
      access_token: answer.access_token,
      refresh_token: answer.refresh_token,
      expires_at: new Date(now() + answer.expires_in * 1000).toISOString(),
    };
    await tokens.save(stored);
    return stored;
  }

  async function refreshOnce(): Promise<Tokens> {
    const current = await tokens.load();
    if (!current) throw notSignedIn();
    const call: Call<TokenResponse> = {
      method: "POST",
      path: "/auth/refresh",
      // An empty refresh token: the server keeps it in an HttpOnly cookie (a browser's sign-in).
      body: current.refresh_token === "" ? {} : { refresh_token: current.refresh_token },
      response: TokenResponse,
      auth: false,
    };
    try {
      return await storeTokens(await settle(call, await send(call, null)));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && SESSION_OVER.has(error.code)) throw await revoked("session_ended", error);
      if (error instanceof ApiError && error.status === 403 && error.code === "DEVICE_INACTIVE") {
        throw await revoked("device_inactive", error);
      }
      throw error;
    }
  }

  /** Single flight: concurrent 401s share one refresh, so a rotated refresh token is used once. */
  function refresh(): Promise<Tokens> {
    refreshing ??= refreshOnce().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  async function request<T>(call: Call<T>): Promise<T> {
    if (!call.auth) return settle(call, await send(call, null));
    const stored = await tokens.load();
    if (!stored) throw notSignedIn();
    try {
      const response = await send(call, stored.access_token);
      if (response.status !== 401) return await settle(call, response);
      await response.body?.cancel();
      // A concurrent call may have refreshed already; use its tokens rather than rotate again.
      const latest = await tokens.load();
      const fresh = latest && latest.access_token !== stored.access_token ? latest : await refresh();
      return await settle(call, await send(call, fresh.access_token));
    } catch (error) {
      if (error instanceof ApiError && !error.revoked && error.status === 403 && error.code === "DEVICE_INACTIVE") {
        throw await revoked("device_inactive", error);
      }
      if (error instanceof ApiError && !error.revoked && error.status === 401 && SESSION_OVER.has(error.code)) {
        // Refreshed and still refused: the server has ended this session.
        throw await revoked("session_ended", error);
      }
      throw error;
    }
  }

  return {
    async register(body) {
      const call = { method: "POST", path: "/auth/register", body: RegisterRequest.parse(body), response: TokenResponse, auth: false } as const;
      const answer = await request(call);
      await storeTokens(answer);
      return answer;
    },
    async login(body) {
      const call = { method: "POST", path: "/auth/login", body: LoginRequest.parse(body), response: TokenResponse, auth: false } as const;
      const answer = await request(call);
      await storeTokens(answer);
      return answer;
    },
    refresh,
    async logout() {
      const stored = await tokens.load();
      if (!stored) throw notSignedIn();
      const answer = await request({
        method: "POST",
        path: "/auth/logout",
        body: stored.refresh_token === "" ? {} : { refresh_token: stored.refresh_token },
        response: LogoutResponse,
        auth: true,
      });
      await tokens.clear();
      return answer;
    },
    me: () => request({ method: "GET", path: "/auth/me", response: MeResponse, auth: true }),
    registerDevice: (body) =>
      request({
        method: "POST",
        path: "/sync/device/register",
        body: DeviceRegisterRequest.parse(body),
        response: DeviceRegisterResponse,
        auth: true,
      }),
    listDevices: (query = {}) =>
      request({ method: "GET", path: "/sync/device/list", query: DeviceListQuery.parse(query), response: DeviceListResponse, auth: true }),
    revokeDevice: (deviceId) =>
      request({
        method: "POST",
        path: `/sync/device/${encodeURIComponent(deviceId)}/revoke`,
        response: DeviceRevokeResponse,
        auth: true,
      }),
    pull: (body) => request({ method: "POST", path: "/sync/pull", body: PullRequest.parse(body), response: PullResponse, auth: true }),
    push: (body) => request({ method: "POST", path: "/sync/push", body: PushRequest.parse(body), response: PushResponse, auth: true }),
    listConflicts: (query = {}) =>
      request({ method: "GET", path: "/sync/conflicts", query: ConflictListQuery.parse(query), response: ConflictListResponse, auth: true }),
    resolveConflict: (conflictId, body) =>
      request({
        method: "POST",
        path: `/sync/conflicts/${encodeURIComponent(conflictId)}/resolve`,
        body: ResolveConflictRequest.parse(body),
        response: ResolveConflictResponse,
        auth: true,
      }),
    status: (query) =>
      request({ method: "GET", path: "/sync/status", query: SyncStatusQuery.parse(query), response: SyncStatusResponse, auth: true }),
  };
}

function notSignedIn(): ApiError {
  return new ApiError("Not signed in", { code: ClientErrorCode.NotSignedIn, status: 0, retryable: false });
}
