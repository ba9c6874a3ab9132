import { sha256 } from "@oslojs/crypto/sha2";
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from "@oslojs/encoding";
import { AppError, type Role } from "@repensar/contracts";
import { schema, type Executor } from "@repensar/db";
import { and, asc, eq, gt, isNull } from "drizzle-orm";
import { AuditEvent, recordAudit } from "../audit";
import type { ServerContext } from "../context";
import { createUser, findAccountByEmail, normalizeEmail, type Account } from "./accounts";
import type { Principal } from "./principal";
import { revokeFamily } from "./refresh";
import { cacheDeviceRevocation } from "./revocation";
import { invalidateUserSessions } from "./sessions";

export const INVITATION_TTL_MS = 7 * 86_400_000;

export interface Member {
  id: string;
  email: string;
  name: string;
  role: Role;
  joinedAt: string;
}

export interface PendingInvitation {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
  expiresAt: string;
}

function invitationHash(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

export async function listMembers(ctx: ServerContext, orgId: string): Promise<Member[]> {
  const { users, memberships } = schema;
  const rows = await ctx.database.db
    .select({ id: users.id, email: users.email, name: users.name, role: memberships.role, joinedAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.orgId, orgId))
    .orderBy(asc(memberships.createdAt), asc(users.email));
  return rows.map((r) => ({ ...r, joinedAt: r.joinedAt.toISOString() }));
}

export async function listPendingInvitations(ctx: ServerContext, orgId: string): Promise<PendingInvitation[]> {
  const { invitations } = schema;
  const rows = await ctx.database.db
    .select({ id: invitations.id, email: invitations.email, role: invitations.role, createdAt: invitations.createdAt, expiresAt: invitations.expiresAt })
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), isNull(invitations.acceptedAt), gt(invitations.expiresAt, ctx.now())))
    .orderBy(asc(invitations.createdAt));
  return rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString(), expiresAt: r.expiresAt.toISOString() }));
}

/**
 * Invites `email` into the admin's organization. Answers the one-time secret of the invitation
 * link; only its hash is kept. 409 `EMAIL_TAKEN` when the email has an account.
 */
export async function inviteMember(
  ctx: ServerContext,
  admin: Principal,
  input: { email: string; role: Role },
  ipAddress: string | null,
): Promise<{ invitation: PendingInvitation; token: string }> {
  const email = normalizeEmail(input.email);
  if (await findAccountByEmail(ctx, email)) throw new AppError("EMAIL_TAKEN");
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  const token = encodeBase32LowerCaseNoPadding(bytes);
  const now = ctx.now();
  const invitation = await ctx.database.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(schema.invitations)
      .values({ orgId: admin.orgId, email, role: input.role, tokenHash: invitationHash(token), invitedByUserId: admin.userId, createdAt: now, expiresAt: new Date(now.getTime() + INVITATION_TTL_MS) })
      .returning();
    if (!row) throw new Error("The invitation insert returned no row");
    await recordAudit(tx, { eventType: AuditEvent.MemberInvited, orgId: admin.orgId, userId: admin.userId, details: { email, role: input.role }, ipAddress });
    return row;
  });
  return {
    invitation: { id: invitation.id, email, role: invitation.role, createdAt: invitation.createdAt.toISOString(), expiresAt: invitation.expiresAt.toISOString() },
    token,
  };
}

/** Accepts an invitation: creates the user in the inviting organization. 404 when unknown, used or expired. */
export async function acceptInvitation(ctx: ServerContext, input: { token: string; name: string; password: string }): Promise<Account> {
  const { invitations } = schema;
  const [invitation] = await ctx.database.db
    .select()
    .from(invitations)
    .where(and(eq(invitations.tokenHash, invitationHash(input.token)), isNull(invitations.acceptedAt), gt(invitations.expiresAt, ctx.now())))
    .limit(1);
  if (!invitation) throw new AppError("NOT_FOUND", "This invitation is not valid, was already used, or has expired.");
  return createUser(
    ctx,
    { email: invitation.email, name: input.name, password: input.password, role: invitation.role, orgId: invitation.orgId },
    async (tx) => {
      const used = await tx
        .update(invitations)
        .set({ acceptedAt: ctx.now() })
        .where(and(eq(invitations.id, invitation.id), isNull(invitations.acceptedAt)))
        .returning({ id: invitations.id });
      if (used.length === 0) throw new AppError("NOT_FOUND", "This invitation was already used.");
    },
  );
}

/** The organization's admins, locked until the transaction ends, so two demotions cannot both pass. */
async function lockAdmins(tx: Executor, orgId: string): Promise<string[]> {
  const rows = await tx
    .select({ userId: schema.memberships.userId })
    .from(schema.memberships)
    .where(and(eq(schema.memberships.orgId, orgId), eq(schema.memberships.role, "admin")))
    .for("update");
  return rows.map((r) => r.userId);
}

async function membershipOf(tx: Executor, orgId: string, userId: string): Promise<{ role: Role } | undefined> {
  const [row] = await tx
    .select({ role: schema.memberships.role })
    .from(schema.memberships)
    .where(and(eq(schema.memberships.orgId, orgId), eq(schema.memberships.userId, userId)))
    .limit(1)
    .for("update");
  return row;
}

/**
 * Changes a member's role. 403 when it would leave the organization without an admin.
 * A demotion also ends the member's sign-ins on their devices: their access tokens carry the
 * `admin` role until they expire, and REST would keep honouring it.
 */
export async function changeRole(ctx: ServerContext, admin: Principal, input: { userId: string; role: Role }, ipAddress: string | null): Promise<Member> {
  const demoted = await ctx.database.db.transaction(async (tx) => {
    const admins = await lockAdmins(tx, admin.orgId);
    const membership = await membershipOf(tx, admin.orgId, input.userId);
    if (!membership) throw new AppError("USER_NOT_FOUND");
    if (membership.role === input.role) return [];
    if (membership.role === "admin" && admins.length <= 1) throw new AppError("FORBIDDEN", "An organization needs at least one admin.");
    await tx
      .update(schema.memberships)
      .set({ role: input.role })
      .where(and(eq(schema.memberships.orgId, admin.orgId), eq(schema.memberships.userId, input.userId)));
    await recordAudit(tx, {
      eventType: AuditEvent.MemberRoleChanged,
      orgId: admin.orgId,
      userId: admin.userId,
      details: { member_user_id: input.userId, from: membership.role, to: input.role },
      ipAddress,
    });
    if (membership.role !== "admin") return [];
    const live = await tx
      .select({ id: schema.refreshTokenFamilies.id })
      .from(schema.refreshTokenFamilies)
      .where(and(eq(schema.refreshTokenFamilies.userId, input.userId), isNull(schema.refreshTokenFamilies.revokedAt)));
    return live.map((f) => f.id);
  });
  for (const familyId of demoted) await revokeFamily(ctx, familyId, "role_changed");
  const member = (await listMembers(ctx, admin.orgId)).find((m) => m.id === input.userId);
  if (!member) throw new AppError("USER_NOT_FOUND");
  return member;
}

/**
 * Removes a member: their account is disabled, their console sessions, sign-ins and devices
 * ended. 403 when they are the last admin.
 */
export async function removeMember(ctx: ServerContext, admin: Principal, userId: string, ipAddress: string | null): Promise<void> {
  const now = ctx.now();
  const { devices, refreshTokenFamilies: families } = schema;
  const ended = await ctx.database.db.transaction(async (tx) => {
    const admins = await lockAdmins(tx, admin.orgId);
    const membership = await membershipOf(tx, admin.orgId, userId);
    if (!membership) throw new AppError("USER_NOT_FOUND");
    if (membership.role === "admin" && admins.length <= 1) throw new AppError("FORBIDDEN", "An organization needs at least one admin.");
    await tx.delete(schema.memberships).where(and(eq(schema.memberships.orgId, admin.orgId), eq(schema.memberships.userId, userId)));
    await tx.update(schema.users).set({ disabledAt: now }).where(eq(schema.users.id, userId));
    const revokedDevices = await tx
      .update(devices)
      .set({ isActive: false, revokedAt: now })
      .where(and(eq(devices.userId, userId), eq(devices.isActive, true)))
      .returning({ deviceId: devices.deviceId });
    const liveFamilies = await tx
      .select({ id: families.id })
      .from(families)
      .where(and(eq(families.userId, userId), isNull(families.revokedAt)));
    await recordAudit(tx, {
      eventType: AuditEvent.MemberRemoved,
      orgId: admin.orgId,
      userId: admin.userId,
      details: { member_user_id: userId, role: membership.role, devices_revoked: revokedDevices.length },
      ipAddress,
    });
    return { devices: revokedDevices.map((d) => d.deviceId), families: liveFamilies.map((f) => f.id) };
  });
  await invalidateUserSessions(ctx, userId);
  for (const familyId of ended.families) await revokeFamily(ctx, familyId, "member_removed");
  for (const deviceId of ended.devices) await cacheDeviceRevocation(ctx, deviceId, now);
}
