import { sha256 } from "@oslojs/crypto/sha2";
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from "@oslojs/encoding";
import { AppError } from "@repensar/contracts";
import { schema } from "@repensar/db";
import { and, eq } from "drizzle-orm";
import type { ServerContext } from "../context";
import type { Principal } from "./principal";

/*
 * Console sessions, after the Lucia guide: the cookie holds a random token; the database holds
 * only its SHA-256 (the session id), so a leaked sessions table opens no session. Expiry slides:
 * a session used with less than half its lifetime left is extended to the full lifetime.
 */

export const SESSION_COOKIE = "repensar_session";
export const SESSION_TTL_MS = 30 * 86_400_000;
const RENEW_BELOW_MS = 15 * 86_400_000;

export interface ConsoleSession {
  id: string;
  userId: string;
  orgId: string;
  expiresAt: Date;
}

export function generateSessionToken(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return encodeBase32LowerCaseNoPadding(bytes);
}

export function sessionIdOf(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

export async function createSession(ctx: ServerContext, owner: { userId: string; orgId: string }): Promise<{ token: string; session: ConsoleSession }> {
  const token = generateSessionToken();
  const session: ConsoleSession = { id: sessionIdOf(token), userId: owner.userId, orgId: owner.orgId, expiresAt: new Date(ctx.now().getTime() + SESSION_TTL_MS) };
  await ctx.database.db.insert(schema.consoleSessions).values({ ...session, createdAt: ctx.now() });
  return { token, session };
}

export interface ValidSession {
  session: ConsoleSession;
  principal: Principal;
  /** The expiry moved: send the cookie again. */
  renewed: boolean;
}

/**
 * The session a cookie token names, with the caller's current role; null when unknown, expired,
 * or its user was disabled or left the organization. Extends a session past half its life.
 */
export async function validateSessionToken(ctx: ServerContext, token: string): Promise<ValidSession | null> {
  const { consoleSessions: sessions, memberships, users } = schema;
  const id = sessionIdOf(token);
  const [row] = await ctx.database.db
    .select({ userId: sessions.userId, orgId: sessions.orgId, expiresAt: sessions.expiresAt, role: memberships.role, disabledAt: users.disabledAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(memberships, and(eq(memberships.userId, sessions.userId), eq(memberships.orgId, sessions.orgId)))
    .where(eq(sessions.id, id))
    .limit(1);
  if (!row) return null;
  const now = ctx.now().getTime();
  if (row.expiresAt.getTime() <= now || row.disabledAt || !row.role) {
    await invalidateSession(ctx, id);
    return null;
  }
  let expiresAt = row.expiresAt;
  let renewed = false;
  if (expiresAt.getTime() - now < RENEW_BELOW_MS) {
    expiresAt = new Date(now + SESSION_TTL_MS);
    renewed = true;
    await ctx.database.db.update(sessions).set({ expiresAt }).where(eq(sessions.id, id));
  }
  const session: ConsoleSession = { id, userId: row.userId, orgId: row.orgId, expiresAt };
  return {
    session,
    principal: { userId: row.userId, orgId: row.orgId, role: row.role, deviceId: null, tokenId: id, expiresAt },
    renewed,
  };
}

export async function invalidateSession(ctx: ServerContext, sessionId: string): Promise<void> {
  await ctx.database.db.delete(schema.consoleSessions).where(eq(schema.consoleSessions.id, sessionId));
}

export async function invalidateUserSessions(ctx: ServerContext, userId: string): Promise<void> {
  await ctx.database.db.delete(schema.consoleSessions).where(eq(schema.consoleSessions.userId, userId));
}

/** Whether cookies get `Secure`: in production or behind https. */
export function secureCookies(ctx: ServerContext): boolean {
  return ctx.config.production || (ctx.config.publicOrigin?.startsWith("https:") ?? false);
}

/** `Set-Cookie` for a session: HttpOnly, SameSite=Lax, Secure in production or behind https. */
export function sessionCookie(ctx: ServerContext, token: string, expiresAt: Date): string {
  const parts = [`${SESSION_COOKIE}=${token}`, "Path=/", "HttpOnly", "SameSite=Lax", `Expires=${expiresAt.toUTCString()}`];
  if (secureCookies(ctx)) parts.push("Secure");
  return parts.join("; ");
}

/** `Set-Cookie` that removes the session cookie. */
export function blankSessionCookie(ctx: ServerContext): string {
  const parts = [`${SESSION_COOKIE}=`, "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=0"];
  if (secureCookies(ctx)) parts.push("Secure");
  return parts.join("; ");
}

export function readSessionToken(request: Request): string | null {
  return readCookie(request, SESSION_COOKIE);
}

/** The value of the request's cookie `cookie`, or null when it has none (or an empty one). */
export function readCookie(request: Request, cookie: string): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
  for (const pair of header.split(";")) {
    const [name, ...value] = pair.trim().split("=");
    if (name === cookie) return value.join("=") || null;
  }
  return null;
}

const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A cookie rides along with any cross-site request, so a state-changing one must come from the
 * console's own origin: PUBLIC_ORIGIN when set, else the origin the request was addressed to.
 * 403 `ORIGIN_MISMATCH` otherwise, including when the browser sent no `Origin`.
 */
export function checkOrigin(ctx: ServerContext, request: Request): void {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return;
  const origin = request.headers.get("origin");
  if (!origin) throw new AppError("ORIGIN_MISMATCH", "A state-changing request must carry an Origin header.");
  const expected = ctx.config.publicOrigin ? new URL(ctx.config.publicOrigin).origin : ownOrigin(request);
  if (origin !== expected) throw new AppError("ORIGIN_MISMATCH");
}

function ownOrigin(request: Request): string {
  const url = new URL(request.url);
  const host = request.headers.get("host");
  return host ? `${url.protocol}//${host}` : url.origin;
}
