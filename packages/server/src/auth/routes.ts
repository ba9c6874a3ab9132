import {
  ChangePasswordRequest,
  DeviceId,
  DeviceListQuery,
  DeviceRegisterRequest,
  LoginRequest,
  LogoutRequest,
  RefreshRequest,
  RegisterRequest,
  JwksResponse,
  AppError,
  type DeviceListResponse,
  type TokenResponse,
} from "@repensar/contracts";
import { z } from "zod";
import type { ServerContext } from "../context";
import { parseInput, queryObject, readJsonBody } from "../http/body";
import { clientAddress } from "../http/client-address";
import { json } from "../http/respond";
import type { Router } from "../http/router";
import { login, logout, me, refresh, registerAccount } from "./accounts";
import { authenticateAccessToken } from "./authenticate";
import { deviceScope, listDevices, registerDevice, revokeDevice } from "./devices";
import { changePassword } from "./password-change";
import { blankRefreshCookie, readRefreshCookie, refreshCookie } from "./refresh-cookie";
import { checkOrigin } from "./sessions";

const DevicePath = z.object({ device_id: DeviceId });

/** A body that may be left out altogether (`POST /auth/logout`). */
async function readOptionalJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  if (!request.body || request.headers.get("content-length") === "0") return {};
  return readJsonBody(request, maxBytes);
}

/** /auth/*, /.well-known/jwks.json and /sync/device/*. */
export function registerAuthRoutes(router: Router, ctx: ServerContext): void {
  const maxBytes = ctx.config.maxBodyBytes;
  const jwks = JSON.stringify(JwksResponse.parse({ keys: [ctx.keys.publicJwk] }));

  router.on("POST", "/auth/register", async ({ request, info }) => {
    const input = parseInput(RegisterRequest, await readJsonBody(request, maxBytes), "body");
    return json(await registerAccount(ctx, input, clientAddress(request, info, ctx.config.trustProxy)), 201);
  });

  /** A sign-in for a browser: the refresh token goes into an HttpOnly cookie, not into the answer. */
  function inCookie(answer: TokenResponse): Response {
    return json({ ...answer, refresh_token: "" }, 200, { "set-cookie": refreshCookie(ctx, answer.refresh_token) });
  }

  router.on("POST", "/auth/login", async ({ request, info }) => {
    const input = parseInput(LoginRequest, await readJsonBody(request, maxBytes), "body");
    const answer = await login(ctx, input, clientAddress(request, info, ctx.config.trustProxy));
    return input.refresh_token_cookie === true ? inCookie(answer) : json(answer);
  });

  router.on("POST", "/auth/refresh", async ({ request, info }) => {
    const input = parseInput(RefreshRequest, await readOptionalJsonBody(request, maxBytes), "body");
    const address = clientAddress(request, info, ctx.config.trustProxy);
    if (input.refresh_token !== undefined) return json(await refresh(ctx, input.refresh_token, address));
    const cookie = readRefreshCookie(request);
    if (cookie === null) throw new AppError("REFRESH_TOKEN_INVALID", "No refresh token: send refresh_token, or sign in with refresh_token_cookie.");
    // The cookie rides along by itself, so the request must come from the app's own origin.
    checkOrigin(ctx, request);
    return inCookie(await refresh(ctx, cookie, address));
  });

  router.on("POST", "/auth/logout", async ({ request, info }) => {
    const auth = await authenticateAccessToken(ctx, request);
    const input = parseInput(LogoutRequest, await readOptionalJsonBody(request, maxBytes), "body");
    const cookie = readRefreshCookie(request);
    const answer = await logout(ctx, auth, input.refresh_token ?? cookie ?? undefined, clientAddress(request, info, ctx.config.trustProxy));
    return cookie === null ? json(answer) : json(answer, 200, { "set-cookie": blankRefreshCookie(ctx) });
  });

  router.on("GET", "/auth/me", async ({ request }) => {
    const { principal } = await authenticateAccessToken(ctx, request);
    return json(await me(ctx, principal.userId, principal.deviceId));
  });

  router.on("POST", "/auth/password", async ({ request, info }) => {
    const { principal } = await authenticateAccessToken(ctx, request);
    const input = parseInput(ChangePasswordRequest, await readJsonBody(request, maxBytes), "body");
    const change = { currentPassword: input.current_password, newPassword: input.new_password };
    return json(await changePassword(ctx, principal, change, clientAddress(request, info, ctx.config.trustProxy)));
  });

  router.on(
    "GET",
    "/.well-known/jwks.json",
    async () => new Response(jwks, { headers: { "content-type": "application/json", "cache-control": "public, max-age=300" } }),
  );

  router.on("POST", "/sync/device/register", async ({ request, info }) => {
    const { principal, claims } = await authenticateAccessToken(ctx, request);
    const input = parseInput(DeviceRegisterRequest, await readJsonBody(request, maxBytes), "body");
    return json(await registerDevice(ctx, principal, claims, input, clientAddress(request, info, ctx.config.trustProxy)));
  });

  router.on("GET", "/sync/device/list", async ({ request, url }) => {
    const { principal } = await authenticateAccessToken(ctx, request);
    const query = parseInput(DeviceListQuery, queryObject(url), "query");
    // The source lists the caller's own devices; the console lists an organization's.
    const listed = await listDevices(ctx, deviceScope(principal, false), { includeInactive: query.include_inactive });
    return json(listed satisfies DeviceListResponse);
  });

  router.on("POST", "/sync/device/:device_id/revoke", async ({ request, info, params }) => {
    const { principal } = await authenticateAccessToken(ctx, request);
    const { device_id } = parseInput(DevicePath, params, "path");
    const scope = deviceScope(principal, true);
    return json(await revokeDevice(ctx, principal, scope, device_id, clientAddress(request, info, ctx.config.trustProxy)));
  });
}
