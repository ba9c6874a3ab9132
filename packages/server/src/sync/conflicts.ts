import { applyPatch } from "@repensar/conflict-engine";
import {
  AppError,
  isEntityType,
  type EntityType,
  type ConflictData,
  type ConflictListResponse,
  type ConflictResolution,
  type ResolveConflictResponse,
} from "@repensar/contracts";
import { schema } from "@repensar/db";
import { and, count, desc, eq, isNull, sql, type SQL } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import { AuditEvent, recordAudit } from "../audit";
import type { ServerContext } from "../context";
import { checkViolationIssues } from "./constraints";
import { completeRow, readEntity, writeEntity } from "./entity-store";
import { publishPoke } from "./events";
import { changedFields, recordHistory } from "./history";
import { metricsFor } from "./metrics";
import { danglingReferences, loadReferences } from "./references";
import { conflictDataOf } from "./push";
import { withRetry } from "./retry";
import { validateForStorage } from "./validate";

const c = schema.syncConflicts;

/** Members see their own devices' conflicts; admins their whole organization's. */
function visibleTo(principal: Principal): SQL | undefined {
  const inOrg = eq(c.orgId, principal.orgId);
  if (principal.role === "admin") return inOrg;
  return and(
    inOrg,
    sql`exists (select 1 from devices d where d.device_id = ${c.deviceId} and d.user_id = ${principal.userId} and d.org_id = ${principal.orgId})`,
  );
}

export interface ConflictFilters {
  device_id?: string | undefined;
  unresolved_only: boolean;
  entity_type?: string | undefined;
  conflict_type?: string | undefined;
  limit: number;
  offset: number;
}

/** `GET /sync/conflicts` (and the console's list): newest first; `total` counts every match. */
export async function listConflicts(ctx: ServerContext, principal: Principal, filters: ConflictFilters): Promise<ConflictListResponse> {
  const where = and(
    visibleTo(principal),
    filters.device_id === undefined ? undefined : eq(c.deviceId, filters.device_id),
    filters.entity_type === undefined ? undefined : eq(c.entityType, filters.entity_type),
    filters.conflict_type === undefined ? undefined : eq(c.conflictType, filters.conflict_type),
  );
  const matching = filters.unresolved_only ? and(where, isNull(c.resolvedAt)) : where;
  const { db } = ctx.database;
  const [rows, totals] = await Promise.all([
    db.select().from(c).where(matching).orderBy(desc(c.createdAt), desc(c.id)).limit(filters.limit).offset(filters.offset),
    db
      .select({ total: count(), unresolved: sql<number>`count(*) filter (where ${c.resolvedAt} is null)::int` })
      .from(c)
      .where(matching),
  ]);
  return {
    conflicts: rows.map(conflictDataOf),
    total: Number(totals[0]?.total ?? 0),
    unresolved: Number(totals[0]?.unresolved ?? 0),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One conflict the caller may see (a member: their own devices'), or 404 CONFLICT_NOT_FOUND. */
export async function getConflict(ctx: ServerContext, principal: Principal, conflictId: string): Promise<ConflictData> {
  if (!UUID.test(conflictId)) throw new AppError("CONFLICT_NOT_FOUND");
  const [row] = await ctx.database.db
    .select()
    .from(c)
    .where(and(eq(c.id, conflictId), visibleTo(principal)));
  if (!row) throw new AppError("CONFLICT_NOT_FOUND");
  return conflictDataOf(row);
}

export interface ResolveInput {
  resolution: ConflictResolution;
  merged_data?: Record<string, unknown> | null | undefined;
  /** Only the fields a `manual` merge changes; the others keep the server's values. */
  merged_fields?: Record<string, unknown> | null | undefined;
}

/**
 * `POST /sync/conflicts/{id}/resolve`. In one transaction: the conflict and its row are locked;
 * a resolved conflict is 409 CONFLICT_ALREADY_RESOLVED, a row that moved since the conflict was
 * recorded is 409 CONFLICT_STALE. `server_wins` writes nothing; `client_wins` applies the
 * client's change and `manual` the merged row, each as a new version every device pulls.
 */
export async function resolveConflict(
  ctx: ServerContext,
  principal: Principal,
  conflictId: string,
  input: ResolveInput,
): Promise<ResolveConflictResponse> {
  if (!UUID.test(conflictId)) throw new AppError("CONFLICT_NOT_FOUND");
  const { database } = ctx;
  let resolvedType: EntityType | null = null;
  const outcome = await withRetry(() =>
    database.db.transaction(async (tx) => {
      const [conflict] = await tx
        .select()
        .from(c)
        .where(and(eq(c.id, conflictId), visibleTo(principal)))
        .for("update");
      if (!conflict) throw new AppError("CONFLICT_NOT_FOUND");
      if (conflict.resolvedAt !== null) {
        throw new AppError("CONFLICT_ALREADY_RESOLVED", `Conflict ${conflictId} was already resolved (${conflict.resolution ?? "?"}).`);
      }
      const type = conflict.entityType;
      if (!isEntityType(type)) throw new AppError("CONFLICT_NOT_FOUND");
      resolvedType = type;
      const current = await readEntity(database, tx, type, principal.orgId, conflict.entityId, { lock: true });
      if (!current || current.version !== conflict.serverVersion) {
        throw new AppError(
          "CONFLICT_STALE",
          `The ${type} has changed since this conflict was recorded (version ${conflict.serverVersion}, now ${current?.version ?? "gone"}); pull and try again.`,
        );
      }

      let version = current.version;
      let merged: Record<string, unknown> | null = null;
      if (input.resolution !== "server_wins") {
        let own: Record<string, unknown>;
        let deleted = false;
        if (input.resolution === "manual") {
          // `merged_fields` is a patch over the row the conflict was recorded against (the stale
          // check above makes sure it still is): values it leaves alone are not judged again.
          const fields = input.merged_fields ?? null;
          if (fields && input.merged_data) {
            throw new AppError("VALIDATION_ERROR", [{ loc: ["body", "merged_fields"], msg: "send merged_data or merged_fields, not both", type: "value_error" }]);
          }
          const checked = validateForStorage(type, fields ?? input.merged_data ?? {}, fields ? "patch" : "full");
          if (!checked.ok) {
            const given = fields ? "merged_fields" : "merged_data";
            throw new AppError("VALIDATION_ERROR", checked.issues.map((issue) => ({ ...issue, loc: ["body", given, ...issue.loc] })));
          }
          own = fields ? applyPatch(current.own, checked.data) : completeRow(type, checked.data);
          merged = own;
        } else if (conflict.operation === "DELETE") {
          own = current.own;
          deleted = true;
        } else if (conflict.operation === "CREATE") {
          own = completeRow(type, conflict.clientData);
        } else {
          // An UPDATE's data is a patch; on a tombstone it brings the row back with the patch applied.
          own = applyPatch(current.own, conflict.clientData);
        }
        if (!deleted) {
          // References the resolution sets anew must name live rows, as on push.
          const written = { type, data: own };
          const dangling = danglingReferences(await loadReferences(database, tx, principal.orgId, [written]), written, () => undefined, current.own, []);
          if (dangling) throw new AppError("VALIDATION_ERROR", dangling);
        }
        const row = await writeEntity(database, tx, type, {
          orgId: principal.orgId,
          id: conflict.entityId,
          own,
          version: current.version + 1,
          deviceId: principal.deviceId,
          deleted,
        });
        version = row.version;
        await recordHistory(database, tx, { orgId: principal.orgId, userId: principal.userId, deviceId: principal.deviceId }, [
          {
            type,
            id: conflict.entityId,
            version,
            operation: deleted ? "DELETE" : current.deleted ? "CREATE" : "UPDATE",
            changedFields: deleted ? [] : changedFields(type, current.deleted ? null : current.own, own),
            data: own,
            deleted,
            merged: false,
          },
        ]);
      }

      await tx
        .update(c)
        .set({
          resolution: input.resolution,
          mergedData: merged,
          resolvedAt: ctx.now(),
          resolvedByUserId: principal.userId,
        })
        .where(eq(c.id, conflictId));
      await recordAudit(tx, {
        eventType: AuditEvent.ConflictResolved,
        orgId: principal.orgId,
        userId: principal.userId,
        deviceId: principal.deviceId,
        details: { conflict_id: conflictId, resolution: input.resolution, entity_type: type, entity_id: conflict.entityId, version },
      });
      return { type, entityId: conflict.entityId, version, wrote: input.resolution !== "server_wins" };
    }),
  ).catch((error: unknown) => {
    // A row written under a looser rule, kept as it is by the resolution, meets the rule now.
    const issues = resolvedType && checkViolationIssues(error, resolvedType);
    throw issues ? new AppError("VALIDATION_ERROR", issues) : error;
  });
  if (outcome.wrote) await publishPoke(ctx, principal.orgId, [outcome.type]);
  metricsFor(ctx).conflictsResolved.inc();
  return {
    message: "Conflict resolved successfully",
    conflict_id: conflictId,
    resolution: input.resolution,
    entity_type: outcome.type,
    entity_id: outcome.entityId,
    version: outcome.version,
  };
}
