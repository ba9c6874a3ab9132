import { decide, suggestResolution, type Decision } from "@repensar/conflict-engine";
import {
  isEntityType,
  type ConflictData,
  type EntityType,
  type PushChange,
  type PushResponse,
  type PushResult,
  type SuggestedResolution,
  type ValidationIssue,
} from "@repensar/contracts";
import { schema, type Executor } from "@repensar/db";
import { eq, sql } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import { AuditEvent, recordAudit } from "../audit";
import type { ServerContext } from "../context";
import { completeRow, insertEntity, readEntity, writeEntity, type StoredRow } from "./entity-store";
import { publishPoke } from "./events";
import { metricsFor } from "./metrics";
import { withRetry } from "./retry";
import { encodeSyncToken, parseStoredCursor, type SyncTokenPayload, type TypeCursor } from "./token";
import { unstorableString, validateForStorage } from "./validate";

export interface PushInput {
  device_id: string;
  changes: readonly PushChange[];
  atomic?: boolean | undefined;
}

/** What became of one change; `conflict` when one was recorded. */
interface Outcome {
  result: PushResult;
  conflict?: ConflictData;
  /** The type whose rows changed (for the poke); absent when nothing was written. */
  wrote?: EntityType;
}

/** A change that passed validation, ready to meet its row. */
interface CheckedChange {
  index: number;
  change: PushChange;
  type: EntityType;
  /** Own fields: the whole row (CREATE, completed with nulls), the patch (UPDATE), `{}` (DELETE). */
  data: Record<string, unknown>;
}

const baseResult = (change: PushChange): Pick<PushResult, "change_id" | "entity_type" | "entity_id"> => ({
  ...(change.change_id === undefined ? {} : { change_id: change.change_id }),
  entity_type: change.entity_type,
  entity_id: change.entity_id,
});

const failed = (change: PushChange, code: string, detail: string | ValidationIssue[]): Outcome => ({
  result: { ...baseResult(change), status: "failed", error: { code, detail } },
});

/** Checks a change against its entity before it touches the database. */
const MAX_VERSION = 2_147_483_647;

function checkChange(change: PushChange, index: number): CheckedChange | Outcome {
  if (!isEntityType(change.entity_type)) {
    return failed(change, "UNKNOWN_ENTITY_TYPE", `Unknown entity type '${change.entity_type}'.`);
  }
  if (unstorableString(change.entity_id)) {
    return failed(change, "VALIDATION_ERROR", [
      { loc: ["entity_id"], msg: "Text may not contain NUL characters or lone surrogates", type: "string_unstorable" },
    ]);
  }
  if (change.version > MAX_VERSION) {
    // Versions are stored as 32-bit integers; no row ever reaches this one.
    return failed(change, "VALIDATION_ERROR", [
      { loc: ["version"], msg: `version must be at most ${MAX_VERSION}`, type: "too_big" },
    ]);
  }
  const type = change.entity_type;
  if (Object.hasOwn(change.data, "id") && change.data["id"] !== change.entity_id) {
    return failed(change, "VALIDATION_ERROR", [{ loc: ["data", "id"], msg: "data.id must equal entity_id", type: "value_error" }]);
  }
  if (change.operation === "DELETE") return { index, change, type, data: {} };
  const checked = validateForStorage(type, change.data, change.operation === "CREATE" ? "full" : "patch");
  if (!checked.ok) {
    return failed(
      change,
      "VALIDATION_ERROR",
      checked.issues.map((issue) => ({ ...issue, loc: ["data", ...issue.loc] })),
    );
  }
  return { index, change, type, data: change.operation === "CREATE" ? completeRow(type, checked.data) : checked.data };
}

const isOutcome = (value: CheckedChange | Outcome): value is Outcome => "result" in value;

interface LedgerEntry {
  result: PushResult;
  conflict?: ConflictData;
}

/**
 * Applies one change on `tx`: the idempotency ledger first (a replay answers what it answered the
 * first time and writes nothing), then the row, locked, then `decide`, then the write.
 */
async function applyChange(
  ctx: ServerContext,
  tx: Executor,
  principal: Principal,
  deviceId: string,
  checked: CheckedChange,
): Promise<Outcome> {
  const { change } = checked;
  const { database } = ctx;
  const changeId = change.change_id;
  if (changeId !== undefined) {
    const claimed = await database.rows(
      sql`insert into processed_changes (device_id, change_id, org_id, result)
          values (${deviceId}, ${changeId}, ${principal.orgId}, '{}'::jsonb)
          on conflict (device_id, change_id) do nothing
          returning 1 as claimed`,
      tx,
    );
    if (claimed.length === 0) {
      const [stored] = await database.rows<{ result: LedgerEntry }>(
        sql`select result from processed_changes where device_id = ${deviceId} and change_id = ${changeId}`,
        tx,
      );
      if (stored?.result.result) return { result: stored.result.result, ...(stored.result.conflict ? { conflict: stored.result.conflict } : {}) };
    }
  }

  const outcome = await meetRow(ctx, tx, principal, deviceId, checked);

  if (changeId !== undefined) {
    if (outcome.result.status === "failed") {
      // Nothing happened: forget the claim, so the change may be sent again once it can apply.
      await database.rows(sql`delete from processed_changes where device_id = ${deviceId} and change_id = ${changeId} returning 1`, tx);
    } else {
      const entry: LedgerEntry = { result: outcome.result, ...(outcome.conflict ? { conflict: outcome.conflict } : {}) };
      await database.rows(
        sql`update processed_changes set result = ${JSON.stringify(entry)}::jsonb
            where device_id = ${deviceId} and change_id = ${changeId} returning 1`,
        tx,
      );
    }
  }
  return outcome;
}

async function meetRow(
  ctx: ServerContext,
  tx: Executor,
  principal: Principal,
  deviceId: string,
  checked: CheckedChange,
): Promise<Outcome> {
  const { change, type, data } = checked;
  const { database } = ctx;
  const incoming = {
    operation: change.operation,
    version: change.version,
    data,
    device_id: deviceId,
    change_id: change.change_id,
  };
  // Two tries: a CREATE that loses an insert race decides again against the winner's row.
  for (let attempt = 0; attempt < 2; attempt++) {
    const current = await readEntity(database, tx, type, principal.orgId, change.entity_id, { lock: true });
    const decision: Decision = decide(
      incoming,
      current && { version: current.version, deleted: current.deleted, data: current.own, modified_by_device_id: current.modifiedByDeviceId },
    );
    switch (decision.outcome) {
      case "noop":
        return { result: { ...baseResult(change), status: "applied", version: decision.version } };
      case "not_found":
        return failed(change, "ENTITY_NOT_FOUND", `No ${type} '${change.entity_id}' exists in your organization.`);
      case "conflict": {
        if (!current) break;
        const conflict = await recordConflict(ctx, tx, principal, deviceId, checked, current, decision.type);
        return { result: { ...baseResult(change), status: "conflict", conflict_id: conflict.conflict_id }, conflict };
      }
      case "apply": {
        const write = { orgId: principal.orgId, id: change.entity_id, own: decision.data, version: decision.version, deviceId };
        const row =
          decision.write === "insert"
            ? await insertEntity(database, tx, type, write)
            : await writeEntity(database, tx, type, { ...write, deleted: decision.write === "delete" });
        if (!row) continue;
        return { result: { ...baseResult(change), status: "applied", version: row.version }, wrote: type };
      }
    }
  }
  throw new Error(`${type} ${change.entity_id}: no decision after an insert race`);
}

async function recordConflict(
  ctx: ServerContext,
  tx: Executor,
  principal: Principal,
  deviceId: string,
  checked: CheckedChange,
  current: StoredRow,
  conflictType: ConflictData["conflict_type"],
): Promise<ConflictData> {
  const { change, type, data } = checked;
  const suggested: SuggestedResolution = suggestResolution(type, {
    conflict_type: conflictType,
    client_data: data,
    server_data: current.own,
    client_modified_at: change.modified_at ?? null,
    server_modified_at: current.updatedAt,
    server_deleted: current.deleted,
  }).resolution;
  const [row] = await tx
    .insert(schema.syncConflicts)
    .values({
      orgId: principal.orgId,
      userId: principal.userId,
      deviceId,
      changeId: change.change_id ?? null,
      entityType: type,
      entityId: change.entity_id,
      operation: change.operation,
      conflictType,
      clientVersion: change.version,
      serverVersion: current.version,
      clientData: data,
      serverData: current.data,
      clientTimestamp: change.modified_at ? new Date(change.modified_at) : null,
      serverTimestamp: new Date(current.updatedAt),
      suggestedResolution: suggested,
    })
    .returning();
  if (!row) throw new Error("sync_conflicts insert returned nothing");
  return conflictDataOf(row);
}

type ConflictRow = typeof schema.syncConflicts.$inferSelect;

/** A stored conflict as the wire carries it. */
export function conflictDataOf(row: ConflictRow): ConflictData {
  return {
    conflict_id: row.id,
    entity_type: row.entityType,
    entity_id: row.entityId,
    client_version: row.clientVersion,
    server_version: row.serverVersion,
    client_data: row.clientData,
    server_data: row.serverData,
    client_modified_at: row.clientTimestamp?.toISOString() ?? null,
    server_modified_at: row.serverTimestamp?.toISOString() ?? null,
    conflict_type: row.conflictType as ConflictData["conflict_type"],
    suggested_resolution: row.suggestedResolution as SuggestedResolution,
    device_id: row.deviceId,
    created_at: row.createdAt.toISOString(),
    resolution: (row.resolution as ConflictData["resolution"]) ?? null,
    resolved_at: row.resolvedAt?.toISOString() ?? null,
  };
}

/** Thrown inside an atomic batch's transaction to roll it back once a change cannot apply. */
class BatchAborted extends Error {
  constructor(readonly outcomes: Outcome[]) {
    super("atomic batch aborted");
  }
}

/**
 * `POST /sync/push`. Each change is applied alone (its own transaction) unless `atomic`, when the
 * batch applies whole or not at all. The answer carries one result per change, in order.
 */
export async function pushChanges(ctx: ServerContext, principal: Principal, input: PushInput): Promise<PushResponse> {
  const deviceId = input.device_id;
  const checked = input.changes.map((change, index) => checkChange(change, index));
  let outcomes: Outcome[];
  if (input.atomic === true) {
    outcomes = await pushAtomically(ctx, principal, deviceId, checked);
  } else {
    outcomes = [];
    for (const item of checked) {
      if (isOutcome(item)) outcomes.push(item);
      else outcomes.push(await withRetry(() => ctx.database.db.transaction((tx) => applyChange(ctx, tx, principal, deviceId, item))));
    }
  }

  const results = outcomes.map((o) => o.result);
  const conflicts = outcomes.flatMap((o) => (o.conflict && o.result.status === "conflict" ? [o.conflict] : []));
  const applied = results.filter((r) => r.status === "applied").length;
  const failedCount = results.filter((r) => r.status === "failed").length;

  const token = await finishPush(ctx, principal, deviceId, { applied, conflicts: conflicts.length, pushed: input.changes.length });
  const written = new Set(outcomes.flatMap((o) => (o.wrote ? [o.wrote] : [])));
  if (written.size > 0) await publishPoke(ctx, principal.orgId, [...written]);

  const metrics = metricsFor(ctx);
  metrics.pushes.inc();
  metrics.changesApplied.inc(applied);
  metrics.changesConflicted.inc(conflicts.length);
  metrics.changesFailed.inc(failedCount);
  return { applied, conflicts, failed: failedCount, sync_token: token, results };
}

async function pushAtomically(
  ctx: ServerContext,
  principal: Principal,
  deviceId: string,
  checked: (CheckedChange | Outcome)[],
): Promise<Outcome[]> {
  const refused = checked.findIndex(isOutcome);
  if (refused >= 0) return abortedOutcomes(checked.map((c) => (isOutcome(c) ? c : null)), refused);
  try {
    return await withRetry(() =>
      ctx.database.db.transaction(async (tx) => {
        const outcomes: Outcome[] = [];
        for (const item of checked) {
          if (isOutcome(item)) throw new Error("unreachable: refused changes end the batch before it starts");
          outcomes.push(await applyChange(ctx, tx, principal, deviceId, item));
        }
        if (outcomes.some((o) => o.result.status !== "applied")) throw new BatchAborted(outcomes);
        return outcomes;
      }),
    );
  } catch (error) {
    if (!(error instanceof BatchAborted)) throw error;
    const offending = error.outcomes.findIndex((o) => o.result.status !== "applied");
    return abortedOutcomes(
      error.outcomes.map((o) => (o.result.status === "applied" ? null : o)),
      offending,
    );
  }
}

/**
 * An atomic batch that did not apply: every change is `failed`. Those that could not apply keep
 * their own error (a conflict is reported as `CONFLICT`, and not recorded: nothing of the batch
 * was kept); the others say the batch was aborted.
 */
function abortedOutcomes(known: (Outcome | null)[], first: number): Outcome[] {
  return known.map((outcome): Outcome => {
    const result = outcome?.result;
    if (result && result.status === "failed") return { result };
    const base = result ?? null;
    const changeRef = {
      ...(base?.change_id === undefined ? {} : { change_id: base.change_id }),
      entity_type: base?.entity_type ?? "",
      entity_id: base?.entity_id ?? "",
    };
    if (result && result.status === "conflict") {
      return { result: { ...changeRef, status: "failed", error: { code: "CONFLICT", detail: `The change conflicts with the server's row; the atomic batch was not applied.` } } };
    }
    return { result: { ...changeRef, status: "failed", error: { code: "ATOMIC_BATCH_ABORTED", detail: `Not applied: change ${first} could not apply and the batch is atomic.` } } };
  });
}

/** Audits the push and answers the device's pull position as its token. */
async function finishPush(
  ctx: ServerContext,
  principal: Principal,
  deviceId: string,
  counts: { applied: number; conflicts: number; pushed: number },
): Promise<string> {
  const now = ctx.now();
  const states = await ctx.database.db.transaction(async (tx) => {
    if (counts.pushed > 0) {
      await recordAudit(tx, {
        eventType: AuditEvent.SyncCompleted,
        orgId: principal.orgId,
        userId: principal.userId,
        deviceId,
        details: { direction: "push", changes_pulled: 0, changes_pushed: counts.applied, conflicts: counts.conflicts },
      });
    }
    return tx
      .select({ entityType: schema.deviceSyncState.entityType, cursor: schema.deviceSyncState.cursor })
      .from(schema.deviceSyncState)
      .where(eq(schema.deviceSyncState.deviceId, deviceId));
  });
  const cursors: Partial<Record<EntityType, TypeCursor>> = {};
  let issuedAt = Math.floor(now.getTime() / 1000);
  for (const state of states) {
    const stored = parseStoredCursor(state.cursor);
    if (!stored || !isEntityType(state.entityType)) continue;
    cursors[state.entityType] = stored.cursor;
    issuedAt = Math.min(issuedAt, stored.issuedAt);
  }
  const payload: SyncTokenPayload = { v: 1, u: principal.userId, o: principal.orgId, e: ctx.database.epoch, t: issuedAt, c: cursors };
  return encodeSyncToken(payload, ctx.keys.tokenSecret);
}
