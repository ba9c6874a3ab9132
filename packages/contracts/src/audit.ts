/**
 * What the audit log records: the source's SYNC_COMPLETED plus the security and membership
 * events. The console filters by these names; the server writes them.
 */
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
  /** A past version of a row was made its current state again. */
  EntityRestored: "ENTITY_RESTORED",
} as const;
export type AuditEvent = (typeof AuditEvent)[keyof typeof AuditEvent];
export const auditEvents: readonly AuditEvent[] = Object.values(AuditEvent);
