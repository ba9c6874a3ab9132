import { AppError, type ChangePasswordResponse } from "@repensar/contracts";
import { schema } from "@repensar/db";
import { and, eq, isNull, ne } from "drizzle-orm";
import { AuditEvent, recordAudit } from "../audit";
import type { ServerContext } from "../context";
import { findAccountById } from "./accounts";
import { hashPassword, verifyPassword } from "./passwords";
import type { Principal } from "./principal";
import { beginLoginAttempt } from "./rate-limit";
import { revokeFamily } from "./refresh";

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
}

/**
 * Sets the caller's password after checking the current one. A password change must end the
 * account's other sessions (the source says so), since the old password may be what leaked:
 * every refresh-token family is revoked (with the access tokens issued in it, the caller's
 * too), and every console session but `keepConsoleSession`, the one that asked.
 *
 * The current password is counted against the account's sign-in allowance (the same counter as
 * `POST /auth/login`), so a stolen token or an unattended console cannot be used to guess it.
 * 401 `INVALID_CREDENTIALS` when it is wrong; 429 `RATE_LIMITED` past the allowance.
 */
export async function changePassword(
  ctx: ServerContext,
  principal: Principal,
  change: PasswordChange,
  ipAddress: string,
  keepConsoleSession?: string,
): Promise<ChangePasswordResponse> {
  const account = await findAccountById(ctx, principal.userId);
  if (!account || account.disabledAt || account.orgId !== principal.orgId) throw new AppError("UNAUTHORIZED", "The account no longer exists.");
  const attempt = await beginLoginAttempt(ctx, account.email, ipAddress);
  if (!(await verifyPassword(account.passwordHash, change.currentPassword))) {
    await attempt.failed();
    await recordAudit(ctx.database.db, {
      eventType: AuditEvent.LoginFailed,
      orgId: account.orgId,
      userId: account.userId,
      deviceId: principal.deviceId,
      details: { email: account.email, reason: "wrong_current_password" },
      ipAddress,
    });
    throw new AppError("INVALID_CREDENTIALS", "The current password is not correct.");
  }
  await attempt.succeeded();

  const passwordHash = await hashPassword(change.newPassword);
  const { users, consoleSessions, refreshTokenFamilies: families } = schema;
  const ended = await ctx.database.db.transaction(async (tx) => {
    // Only over the hash just verified: of two changes racing, the second finds it replaced.
    const updated = await tx
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, account.userId), eq(users.passwordHash, account.passwordHash)))
      .returning({ id: users.id });
    if (updated.length === 0) throw new AppError("INVALID_CREDENTIALS", "The password was changed meanwhile; sign in again.");
    const sessionScope =
      keepConsoleSession === undefined
        ? eq(consoleSessions.userId, account.userId)
        : and(eq(consoleSessions.userId, account.userId), ne(consoleSessions.id, keepConsoleSession));
    const sessions = await tx.delete(consoleSessions).where(sessionScope).returning({ id: consoleSessions.id });
    const live = await tx
      .select({ id: families.id })
      .from(families)
      .where(and(eq(families.userId, account.userId), isNull(families.revokedAt)));
    await recordAudit(tx, {
      eventType: AuditEvent.PasswordChanged,
      orgId: account.orgId,
      userId: account.userId,
      deviceId: principal.deviceId,
      details: { sign_ins_ended: live.length, console_sessions_ended: sessions.length },
      ipAddress,
    });
    return live.map((family) => family.id);
  });
  // After the commit, as a removed member's are: the cache learns of each revocation too.
  for (const familyId of ended) await revokeFamily(ctx, familyId, "password_changed");
  return {
    message:
      keepConsoleSession === undefined
        ? "Password changed. Every sign-in has ended, this one too: sign in again with the new password."
        : "Password changed. Every other sign-in has ended.",
    sign_ins_ended: ended.length,
  };
}
