import type { ServerContext } from "../context";

/**
 * The refresh token of a browser sign-in (`refresh_token_cookie`), in a cookie page scripts cannot
 * read: HttpOnly, SameSite=Strict (never sent on a cross-site request), scoped to `/auth` so it
 * rides only on refresh, logout and sign-in, and Secure in production or behind https.
 */
export const REFRESH_COOKIE = "repensar_refresh";

function secure(ctx: ServerContext): boolean {
  return ctx.config.production || (ctx.config.publicOrigin?.startsWith("https:") ?? false);
}

export function refreshCookie(ctx: ServerContext, token: string): string {
  const maxAge = ctx.config.refreshTokenTtlDays * 24 * 60 * 60;
  const parts = [`${REFRESH_COOKIE}=${token}`, "Path=/auth", "HttpOnly", "SameSite=Strict", `Max-Age=${maxAge}`];
  if (secure(ctx)) parts.push("Secure");
  return parts.join("; ");
}

export function blankRefreshCookie(ctx: ServerContext): string {
  const parts = [`${REFRESH_COOKIE}=`, "Path=/auth", "HttpOnly", "SameSite=Strict", "Max-Age=0"];
  if (secure(ctx)) parts.push("Secure");
  return parts.join("; ");
}

export function readRefreshCookie(request: Request): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
  for (const pair of header.split(";")) {
    const [name, ...value] = pair.trim().split("=");
    if (name === REFRESH_COOKIE) return value.join("=") || null;
  }
  return null;
}
