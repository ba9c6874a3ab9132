import { schema, type Executor } from "@repensar/db";

import { AuditEvent } from "@repensar/contracts";

export { AuditEvent };

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
