import { AppError, ChangePasswordRequest, Text } from "@repensar/contracts";
import { z } from "zod";
import { me, verifyCredentials } from "../../auth/accounts";
import { AuditEvent, recordAudit } from "../../audit";
import { changePassword } from "../../auth/password-change";
import { blankSessionCookie, createSession, invalidateSession, sessionCookie } from "../../auth/sessions";
import { publicProcedure, router, userProcedure } from "../init";

export const SignInInput = z.object({ email: z.email().max(320), password: Text.min(1).max(256) });

/** The console's shape of `ChangePasswordRequest`: the same policy, in the console's casing. */
export const ChangePasswordInput = z.object({
  currentPassword: ChangePasswordRequest.shape.current_password,
  newPassword: ChangePasswordRequest.shape.new_password,
});

export const authRouter = router({
  /** Signs in with email and password (rate-limited like `POST /auth/login`) and sets the session cookie. */
  signIn: publicProcedure.input(SignInInput).mutation(async ({ ctx, input }) => {
    const account = await verifyCredentials(ctx.ctx, input.email, input.password, ctx.clientAddress);
    const { token, session } = await createSession(ctx.ctx, { userId: account.userId, orgId: account.orgId });
    ctx.resHeaders.append("set-cookie", sessionCookie(ctx.ctx, token, session.expiresAt));
    await recordAudit(ctx.ctx.database.db, {
      eventType: AuditEvent.Login,
      orgId: account.orgId,
      userId: account.userId,
      details: { method: "console" },
      ipAddress: ctx.clientAddress,
    });
    return me(ctx.ctx, account.userId, null);
  }),

  /** Ends the console session and clears its cookie. */
  signOut: userProcedure.mutation(async ({ ctx }) => {
    await invalidateSession(ctx.ctx, ctx.principal.tokenId);
    ctx.resHeaders.append("set-cookie", blankSessionCookie(ctx.ctx));
    await recordAudit(ctx.ctx.database.db, {
      eventType: AuditEvent.Logout,
      orgId: ctx.principal.orgId,
      userId: ctx.principal.userId,
      details: { method: "console" },
      ipAddress: ctx.clientAddress,
    });
    return { message: "Signed out" };
  }),

  /** Sets a new password; the account's other sign-ins and console sessions end, this session stays. */
  changePassword: userProcedure.input(ChangePasswordInput).mutation(({ ctx, input }) =>
    changePassword(ctx.ctx, ctx.principal, input, ctx.clientAddress, ctx.principal.tokenId),
  ),

  /** The signed-in user, their organization and role. */
  me: userProcedure.query(async ({ ctx }) => {
    const answer = await me(ctx.ctx, ctx.principal.userId, null);
    if (answer.organization.id !== ctx.principal.orgId) throw new AppError("UNAUTHORIZED");
    return answer;
  }),
});
