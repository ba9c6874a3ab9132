import type { ServerContext } from "../context";
import { readCookie, secureCookies } from "./sessions";

/**
 * The refresh token of a browser sign-in (`refresh_token_cookie`), in a cookie page scripts cannot
 * read: HttpOnly, SameSite=Strict (never sent on a cross-site request), scoped to `/auth` so it
 * rides only on refresh, logout and sign-in, and Secure in production or behind https.
 */
export const REFRESH_COOKIE = "repensar_refresh";

export function refreshCookie(ctx: ServerContext, token: string): string {
  const maxAge = ctx.config.refreshTokenTtlDays * 24 * 60 * 60;
  const parts = [`${REFRESH_COOKIE}=${token}`, "Path=/auth", "HttpOnly", "SameSite=Strict", `Max-Age=${maxAge}`];
  if (secureCookies(ctx)) parts.push("Secure");
  return parts.join("; ");
}

export function blankRefreshCookie(ctx: ServerContext): string {
  const parts = [`${REFRESH_COOKIE}=`, "Path=/auth", "HttpOnly", "SameSite=Strict", "Max-Age=0"];
  if (secureCookies(ctx)) parts.push("Secure");
  return parts.join("; ");
}

export function readRefreshCookie(request: Request): string | null {
  return readCookie(request, REFRESH_COOKIE);
}
