import { schema, type Executor } from "@repensar/db";

/** What the audit log records; the source's SYNC_COMPLETED plus the security events. */
export const AuditEvent = {
  Login: "LOGIN",
  LoginFailed: "LOGIN_FAILED",
  Logout: "LOGOUT",
  RefreshReuseDetected: "REFRESH_REUSE_DETECTED",
  DeviceRegistered: "DEVICE_REGISTERED",
  DeviceRevoked: "DEVICE_REVOKED",
  SyncCompleted: "SYNC_COMPLETED",
  ConflictResolved: "CONFLICT_RESOLVED",
  MemberInvited: "MEMBER_INVITED",
  MemberRoleChanged: "MEMBER_ROLE_CHANGED",
  MemberRemoved: "MEMBER_REMOVED",
  UserRegistered: "USER_REGISTERED",
  PasswordChanged: "PASSWORD_CHANGED",
} as const;
export type AuditEvent = (typeof AuditEvent)[keyof typeof AuditEvent];

export interface AuditEntry {
  eventType: AuditEvent;
  orgId?: string | null | undefined;
  userId?: string | null | undefined;
  deviceId?: string | null | undefined;
  details?: Record<string, unknown> | undefined;
  ipAddress?: string | null | undefined;
}

/** Writes one audit event on `on` (inside the caller's transaction when given one). */
export async function recordAudit(on: Executor, entry: AuditEntry): Promise<void> {
  await on.insert(schema.auditLog).values({
    eventType: entry.eventType,
    orgId: entry.orgId ?? null,
    userId: entry.userId ?? null,
    deviceId: entry.deviceId ?? null,
    details: entry.details ?? {},
    ipAddress: entry.ipAddress ?? null,
  });
}
