import { RoleSchema, Text } from "@repensar/contracts";
import { z } from "zod";
import { me } from "../../auth/accounts";
import { acceptInvitation, changeRole, inviteMember, listMembers, listPendingInvitations, removeMember } from "../../auth/members";
import { createSession, sessionCookie } from "../../auth/sessions";
import { adminProcedure, publicProcedure, router, userProcedure } from "../init";

export const InviteInput = z.object({ email: z.email().max(320), role: RoleSchema.default("member") });
export const AcceptInvitationInput = z.object({
  token: Text.min(1).max(200),
  name: Text.trim().min(1).max(200),
  password: Text.min(8).max(256),
});
const MemberInput = z.object({ userId: z.uuid() });

export const membersRouter = router({
  /** The organization's members; admins also get the pending invitations. */
  list: userProcedure.query(async ({ ctx }) => {
    const [members, invitations] = await Promise.all([
      listMembers(ctx.ctx, ctx.principal.orgId),
      ctx.principal.role === "admin" ? listPendingInvitations(ctx.ctx, ctx.principal.orgId) : Promise.resolve([]),
    ]);
    return { members, invitations };
  }),

  /** Creates an invitation; `token` goes into the link and is shown this once. */
  invite: adminProcedure.input(InviteInput).mutation(async ({ ctx, input }) => {
    const { invitation, token } = await inviteMember(ctx.ctx, ctx.principal, input, ctx.clientAddress);
    return { ...invitation, token };
  }),

  /** Sets name and password for an invitation, creates the account in that organization, and signs in. */
  acceptInvitation: publicProcedure.input(AcceptInvitationInput).mutation(async ({ ctx, input }) => {
    const account = await acceptInvitation(ctx.ctx, input);
    const { token, session } = await createSession(ctx.ctx, { userId: account.userId, orgId: account.orgId });
    ctx.resHeaders.append("set-cookie", sessionCookie(ctx.ctx, token, session.expiresAt));
    return me(ctx.ctx, account.userId, null);
  }),

  changeRole: adminProcedure
    .input(MemberInput.extend({ role: RoleSchema }))
    .mutation(({ ctx, input }) => changeRole(ctx.ctx, ctx.principal, input, ctx.clientAddress)),

  remove: adminProcedure.input(MemberInput).mutation(async ({ ctx, input }) => {
    await removeMember(ctx.ctx, ctx.principal, input.userId, ctx.clientAddress);
    return { message: "Member removed" };
  }),
});
