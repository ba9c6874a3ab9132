import { randomBytes } from "node:crypto";
import {
  AppError,
  type LoginRequest,
  type LogoutResponse,
  type MeResponse,
  type RegisterRequest,
  type Role,
  type TokenResponse,
} from "@repensar/contracts";
import { schema, type Executor } from "@repensar/db";
import { count, eq, sql } from "drizzle-orm";
import { AuditEvent, recordAudit } from "../audit";
import type { ServerContext } from "../context";
import { Disclosed } from "../log";
import type { AuthenticatedRequest } from "./authenticate";
import { hashPassword, verifyAgainstDummy, verifyPassword } from "./passwords";
import { beginLoginAttempt, countRegistration } from "./rate-limit";
import { familyOfRefreshToken, revokeFamily, rotateRefreshToken, startRefreshFamily } from "./refresh";
import { revokeAccessToken } from "./revocation";
import { issueAccessToken } from "./tokens";

/** The default first admin's email when ADMIN_EMAIL is unset (a reserved domain, RFC 2606). */
export const DEFAULT_ADMIN_EMAIL = "admin@example.com";

export interface Account {
  userId: string;
  email: string;
  name: string;
  passwordHash: string;
  disabledAt: Date | null;
  orgId: string;
  role: Role;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function selectAccount(on: Executor) {
  const { users, memberships } = schema;
  return on
    .select({
      userId: users.id,
      email: users.email,
      name: users.name,
      passwordHash: users.passwordHash,
      disabledAt: users.disabledAt,
      orgId: memberships.orgId,
      role: memberships.role,
    })
    .from(users)
    .innerJoin(memberships, eq(memberships.userId, users.id));
}

/** A user with their organization and role, by email. */
export async function findAccountByEmail(ctx: ServerContext, email: string, on: Executor = ctx.database.db): Promise<Account | undefined> {
  const [row] = await selectAccount(on).where(eq(schema.users.email, normalizeEmail(email))).limit(1);
  return row;
}

/** A user with their organization and role, by id. */
export async function findAccountById(ctx: ServerContext, userId: string, on: Executor = ctx.database.db): Promise<Account | undefined> {
  const [row] = await selectAccount(on).where(eq(schema.users.id, userId)).limit(1);
  return row;
}

/** A PostgreSQL unique violation (23505), as either driver reports it (drizzle wraps it in `cause`). */
export function isUniqueViolation(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    if ("code" in current && current.code === "23505") return true;
    current = "cause" in current ? current.cause : undefined;
  }
  return false;
}

/**
 * Creates a user in `orgId` (or in a new organization of their own, as its admin). 409
 * `EMAIL_TAKEN` when the email has an account.
 */
export async function createUser(
  ctx: ServerContext,
  input: { email: string; name: string; password: string; role: Role; orgId?: string | undefined; orgName?: string | undefined },
  within?: (tx: Executor, account: Account) => Promise<void>,
): Promise<Account> {
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  try {
    return await ctx.database.db.transaction(async (tx) => {
      const existing = await tx.select({ id: schema.users.id }).from(schema.users).where(eq(schema.users.email, email)).limit(1);
      if (existing.length > 0) throw new AppError("EMAIL_TAKEN");
      let orgId = input.orgId;
      if (!orgId) {
        const [org] = await tx
          .insert(schema.organizations)
          .values({ name: input.orgName ?? `${input.name}'s organization` })
          .returning({ id: schema.organizations.id });
        if (!org) throw new Error("The organization insert returned no row");
        orgId = org.id;
      }
      const [user] = await tx.insert(schema.users).values({ email, name: input.name, passwordHash }).returning({ id: schema.users.id });
      if (!user) throw new Error("The user insert returned no row");
      await tx.insert(schema.memberships).values({ orgId, userId: user.id, role: input.role });
      const account: Account = { userId: user.id, email, name: input.name, passwordHash, disabledAt: null, orgId, role: input.role };
      await recordAudit(tx, { eventType: AuditEvent.UserRegistered, orgId, userId: user.id, details: { email, role: input.role } });
      if (within) await within(tx, account);
      return account;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError("EMAIL_TAKEN");
    throw error;
  }
}

async function tokenResponse(ctx: ServerContext, account: Account, familyId: string, refreshToken: string, deviceId: string | null): Promise<TokenResponse> {
  const access = await issueAccessToken(ctx, { userId: account.userId, orgId: account.orgId, role: account.role, deviceId, familyId });
  return {
    access_token: access.token,
    refresh_token: refreshToken,
    token_type: "bearer",
    expires_in: access.expiresIn,
    user: { id: account.userId, email: account.email, name: account.name, organization_id: account.orgId, role: account.role },
  };
}

/** `POST /auth/register`: a user, an organization of their own with them as admin, and a first token pair. */
export async function registerAccount(ctx: ServerContext, input: RegisterRequest, ipAddress: string): Promise<TokenResponse> {
  if (!ctx.config.allowRegistration) throw new AppError("REGISTRATION_DISABLED");
  await countRegistration(ctx, ipAddress);
  const account = await createUser(ctx, { email: input.email, name: input.name, password: input.password, role: "admin" });
  const family = await startRefreshFamily(ctx, { userId: account.userId, orgId: account.orgId, deviceId: null, deviceRegistered: false });
  return tokenResponse(ctx, account, family.familyId, family.refreshToken, null);
}

/**
 * Verifies email and password (rate-limited per account and address) and answers the account.
 * An unknown email and a wrong password answer alike, in about the same time.
 */
export async function verifyCredentials(ctx: ServerContext, email: string, password: string, ipAddress: string): Promise<Account> {
  const attempt = await beginLoginAttempt(ctx, email, ipAddress);
  const account = await findAccountByEmail(ctx, email);
  const valid = account ? await verifyPassword(account.passwordHash, password) : await verifyAgainstDummy(password);
  if (!account || !valid || account.disabledAt) {
    await attempt.failed();
    await recordAudit(ctx.database.db, {
      eventType: AuditEvent.LoginFailed,
      orgId: account?.orgId,
      userId: account?.userId,
      details: { email: normalizeEmail(email), reason: account ? (valid ? "disabled" : "wrong_password") : "unknown_email" },
      ipAddress,
    });
    throw new AppError("INVALID_CREDENTIALS");
  }
  await attempt.succeeded();
  return account;
}

/** `POST /auth/login`: a token pair, bound to `device_id` when given. */
export async function login(ctx: ServerContext, input: LoginRequest, ipAddress: string): Promise<TokenResponse> {
  const account = await verifyCredentials(ctx, input.email, input.password, ipAddress);
  const deviceId = input.device_id ?? null;
  let deviceRegistered = false;
  if (deviceId !== null) {
    const [device] = await ctx.database.db
      .select({ userId: schema.devices.userId })
      .from(schema.devices)
      .where(eq(schema.devices.deviceId, deviceId))
      .limit(1);
    if (device && device.userId !== account.userId) throw new AppError("DEVICE_OWNED_BY_OTHER");
    deviceRegistered = device !== undefined;
  }
  const family = await startRefreshFamily(ctx, { userId: account.userId, orgId: account.orgId, deviceId, deviceRegistered });
  await recordAudit(ctx.database.db, {
    eventType: AuditEvent.Login,
    orgId: account.orgId,
    userId: account.userId,
    deviceId,
    details: { method: "password", family_id: family.familyId },
    ipAddress,
  });
  return tokenResponse(ctx, account, family.familyId, family.refreshToken, deviceId);
}

/** `POST /auth/refresh`: the successor refresh token and a new access token, the role read afresh. */
export async function refresh(ctx: ServerContext, refreshToken: string, ipAddress: string): Promise<TokenResponse> {
  const rotation = await rotateRefreshToken(ctx, refreshToken, ipAddress);
  const account = await findAccountById(ctx, rotation.userId);
  if (!account || account.disabledAt || account.orgId !== rotation.orgId) {
    await revokeFamily(ctx, rotation.familyId, "account_changed");
    throw new AppError("REFRESH_TOKEN_INVALID");
  }
  return tokenResponse(ctx, account, rotation.familyId, rotation.refreshToken, rotation.deviceId);
}

/**
 * `POST /auth/logout`: the access token is refused from now on, and the sign-in it belongs to
 * (and the refresh token's, when given and the caller's) can no longer refresh.
 */
export async function logout(
  ctx: ServerContext,
  auth: AuthenticatedRequest,
  refreshToken: string | undefined,
  ipAddress: string,
): Promise<LogoutResponse> {
  const { principal, claims } = auth;
  await revokeAccessToken(ctx, { jti: claims.jti, userId: principal.userId, expiresAt: principal.expiresAt });
  const familyIds = new Set<string>();
  if (claims.fam) familyIds.add(claims.fam);
  if (refreshToken) {
    const family = await familyOfRefreshToken(ctx, refreshToken);
    if (family && family.userId === principal.userId) familyIds.add(family.familyId);
  }
  for (const familyId of familyIds) await revokeFamily(ctx, familyId, "logout");
  await recordAudit(ctx.database.db, {
    eventType: AuditEvent.Logout,
    orgId: principal.orgId,
    userId: principal.userId,
    deviceId: principal.deviceId,
    details: { families_revoked: familyIds.size },
    ipAddress,
  });
  return { message: "Successfully logged out" };
}

/** `GET /auth/me`. */
export async function me(ctx: ServerContext, userId: string, deviceId: string | null): Promise<MeResponse> {
  const { users, memberships, organizations } = schema;
  const [row] = await ctx.database.db
    .select({ id: users.id, email: users.email, name: users.name, orgId: organizations.id, orgName: organizations.name, role: memberships.role })
    .from(users)
    .innerJoin(memberships, eq(memberships.userId, users.id))
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .where(eq(users.id, userId))
    .limit(1);
  if (!row) throw new AppError("UNAUTHORIZED", "The account no longer exists.");
  return {
    user: { id: row.id, email: row.email, name: row.name },
    organization: { id: row.orgId, name: row.orgName },
    role: row.role,
    device_id: deviceId,
  };
}

/**
 * On an empty installation, creates the first admin from ADMIN_EMAIL / ADMIN_PASSWORD, or
 * `admin@example.com` with a generated password printed once. Safe when instances start together.
 */
export async function ensureFirstAdmin(ctx: ServerContext): Promise<void> {
  const [existing] = await ctx.database.db.select({ n: count() }).from(schema.users);
  if ((existing?.n ?? 0) > 0) return;
  const email = ctx.config.adminEmail ?? DEFAULT_ADMIN_EMAIL;
  const generated = ctx.config.adminPassword === undefined;
  const password = ctx.config.adminPassword ?? randomBytes(15).toString("base64url");
  const passwordHash = await hashPassword(password);
  const created = await ctx.database.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('repensar.first-admin'))`);
    const [again] = await tx.select({ n: count() }).from(schema.users);
    if ((again?.n ?? 0) > 0) return false;
    const [org] = await tx.insert(schema.organizations).values({ name: "Default organization" }).returning({ id: schema.organizations.id });
    if (!org) throw new Error("The organization insert returned no row");
    const [user] = await tx.insert(schema.users).values({ email: normalizeEmail(email), name: "Administrator", passwordHash }).returning({ id: schema.users.id });
    if (!user) throw new Error("The user insert returned no row");
    await tx.insert(schema.memberships).values({ orgId: org.id, userId: user.id, role: "admin" });
    await recordAudit(tx, { eventType: AuditEvent.UserRegistered, orgId: org.id, userId: user.id, details: { email, role: "admin", first_admin: true } });
    return true;
  });
  if (!created) return;
  if (generated) {
    ctx.log.warn("first admin created; this password is shown once, sign in and change it under Account", { email, password: new Disclosed(password) });
  } else {
    ctx.log.info("first admin created from ADMIN_EMAIL", { email });
  }
}
