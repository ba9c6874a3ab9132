import { sql } from "drizzle-orm";
import type { ServerContext } from "../context";

const DAY_MS = 86_400_000;

export interface AuthPurgeReport {
  revokedAccessTokens: number;
  consoleSessions: number;
  invitations: number;
  refreshTokenFamilies: number;
}

/**
 * Deletes what can no longer matter: revocation records of access tokens past their expiry,
 * expired console sessions, invitations a week past their expiry, and refresh-token families
 * (with their tokens) a day past their absolute lifetime — every access token issued in them
 * expired long before.
 */
export async function purgeExpiredAuthState(ctx: ServerContext): Promise<AuthPurgeReport> {
  const now = ctx.now();
  const iso = (d: Date) => d.toISOString();
  const count = async (query: ReturnType<typeof sql>) => Number((await ctx.database.rows<{ n: number }>(query))[0]?.n ?? 0);
  return {
    revokedAccessTokens: await count(
      sql`with gone as (delete from revoked_access_tokens where expires_at < ${iso(now)}::timestamptz returning 1) select count(*)::int as n from gone`,
    ),
    consoleSessions: await count(
      sql`with gone as (delete from console_sessions where expires_at < ${iso(now)}::timestamptz returning 1) select count(*)::int as n from gone`,
    ),
    invitations: await count(
      sql`with gone as (delete from invitations where expires_at < ${iso(new Date(now.getTime() - 7 * DAY_MS))}::timestamptz returning 1)
          select count(*)::int as n from gone`,
    ),
    refreshTokenFamilies: await count(
      sql`with gone as (delete from refresh_token_families where expires_at < ${iso(new Date(now.getTime() - DAY_MS))}::timestamptz returning 1)
          select count(*)::int as n from gone`,
    ),
  };
}
