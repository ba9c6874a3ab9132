import { randomUUID } from "node:crypto";
import { decide, mergeStaleUpdate, sameValue, suggestResolution, type Decision } from "@repensar/conflict-engine";
import {
  entityDefinitions,
  isEntityType,
  unmergeableFields,
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
import { completeRow, insertEntities, isoInstant, lockEntities, updateEntities, type EntityRowWrite, type StoredRow } from "./entity-store";
import { publishPoke } from "./events";
import { changedFields, readVersions, recordHistory, versionKey, type HistoryEntry, type StoredVersion } from "./history";
import { metricsFor } from "./metrics";
import { checkViolationIssues } from "./constraints";
import { danglingReferences, loadReferences, type BatchRowState } from "./references";
import { sqlState, withRetry } from "./retry";
import { encodeSyncToken, parseStoredCursor, type SyncTokenPayload, type TypeCursor } from "./token";
import { unstorableString, validateForStorage } from "./validate";

export interface PushInput {
  device_id: string;
  changes: readonly PushChange[];
  atomic?: boolean | undefined;
}

export interface PushOptions {
  /**
   * Whether a stale UPDATE of fields nobody else changed may be merged (answered `merged`, with the
   * merged row in `data`). Only a client that reads `data` may be answered so: one that does not
   * would take the new version for its own row and never see the other side's fields, so a client
   * of an older protocol gets the conflict it always got. Default: true.
   */
  readonly merges?: boolean;
}

interface BatchMode {
  readonly atomic: boolean;
  readonly merges: boolean;
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

/** What the ledger keeps of a change's first answer. */
interface LedgerEntry {
  result: PushResult;
  conflict?: ConflictData;
}

/** A row as deciding sees it during a batch: as read, then as each applied change leaves it. */
interface RowState {
  type: EntityType;
  /** Null until a CREATE in this batch makes the row. */
  current: StoredRow | null;
  /** Whether the row was in the table when the batch read it (an update, not an insert). */
  existed: boolean;
  /** Set once a change of this batch wrote the row. */
  written: boolean;
}

/** Raised inside the transaction when a concurrent CREATE of the same id committed first: run the batch again. */
class InsertRaced extends Error {
  constructor(readonly type: EntityType) {
    super(`a concurrent transaction created a ${type} row this batch meant to insert`);
  }
}

const rowKey = (type: string, id: string): string => `${type}\u0000${id}`;

/** The wire's `data` of a row whose own fields were written by this batch, at the transaction's time. */
function wireData(row: StoredRow, createdAt: unknown, now: string): Record<string, unknown> {
  return { id: row.id, version: row.version, created_at: createdAt ?? now, updated_at: now, ...row.own };
}

/**
 * One batch on `tx`, in a fixed number of statements whatever its size: claim every `change_id`
 * at once (a replay answers its first answer), lock every target row at once in id order, decide
 * each change in memory in request order (changes to one row see each other), then write rows,
 * conflicts, ledger answers and the audit entry with one statement each.
 */
async function applyBatch(
  ctx: ServerContext,
  tx: Executor,
  principal: Principal,
  deviceId: string,
  items: readonly CheckedChange[],
  mode: BatchMode,
): Promise<Outcome[]> {
  const { database } = ctx;

  // 1. The ledger: claim the change_ids in a stable order; a concurrent claim of the same id waits here.
  const changeIds = [...new Set(items.flatMap((item) => (item.change.change_id === undefined ? [] : [item.change.change_id])))].sort();
  const claimed = new Set<string>();
  const replays = new Map<string, LedgerEntry>();
  if (changeIds.length > 0) {
    const rows = await database.rows<{ change_id: string }>(
      sql`insert into processed_changes (device_id, change_id, org_id, result)
          select ${deviceId}, c.id, ${principal.orgId}, '{}'::jsonb
          from jsonb_array_elements_text(${JSON.stringify(changeIds)}::jsonb) as c(id)
          order by c.id
          on conflict (device_id, change_id) do nothing
          returning change_id`,
      tx,
    );
    for (const row of rows) claimed.add(row.change_id);
    const known = changeIds.filter((id) => !claimed.has(id));
    if (known.length > 0) {
      const stored = await database.rows<{ change_id: string; result: LedgerEntry }>(
        sql`select change_id, result from processed_changes
            where device_id = ${deviceId} and change_id in (select jsonb_array_elements_text(${JSON.stringify(known)}::jsonb))`,
        tx,
      );
      for (const row of stored) {
        if (row.result.result) replays.set(row.change_id, row.result);
        else claimed.add(row.change_id);
      }
    }
  }

  // 2. The rows: every target of a change that is not a replay, locked, one statement per type.
  const idsByType = new Map<EntityType, Set<string>>();
  for (const item of items) {
    if (item.change.change_id !== undefined && replays.has(item.change.change_id)) continue;
    let ids = idsByType.get(item.type);
    if (!ids) idsByType.set(item.type, (ids = new Set()));
    ids.add(item.change.entity_id);
  }
  const rows = new Map<string, RowState>();
  for (const [type, ids] of [...idsByType].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const found = await lockEntities(database, tx, type, principal.orgId, [...ids].sort());
    for (const id of ids) {
      const current = found.get(id) ?? null;
      rows.set(rowKey(type, id), { type, current, existed: current !== null, written: false });
    }
  }

  // References the changes name, read for the whole batch (sync/references.ts).
  const references = await loadReferences(database, tx, principal.orgId, items.filter((item) => item.change.change_id === undefined || !replays.has(item.change.change_id)));
  const inBatch: BatchRowState = (t, id) => {
    const state = rows.get(rowKey(t, id));
    return state && (state.current && !state.current.deleted ? "live" : "gone");
  };

  // 3. The bases of stale changes: the row at the version each was based on, from the history in one
  //    statement; versions this batch reads or writes are known in memory.
  const known = new Map<string, Pick<StoredVersion, "data" | "deleted">>();
  for (const state of rows.values()) {
    if (state.current) known.set(versionKey(state.type, state.current.id, state.current.version), { data: state.current.own, deleted: state.current.deleted });
  }
  const wanted = new Map<string, { type: EntityType; id: string; version: number }>();
  for (const item of items) {
    const { change, type } = item;
    if (change.operation === "CREATE" || change.version < 1 || (change.change_id !== undefined && replays.has(change.change_id))) continue;
    const locked = rows.get(rowKey(type, change.entity_id))?.current;
    const key = versionKey(type, change.entity_id, change.version);
    if (locked && change.version < locked.version && !known.has(key)) wanted.set(key, { type, id: change.entity_id, version: change.version });
  }
  const stored = await readVersions(database, tx, principal.orgId, [...wanted.values()]);
  const baseOf = (type: EntityType, id: string, version: number) => known.get(versionKey(type, id, version)) ?? stored.get(versionKey(type, id, version)) ?? null;

  // 4. Decide, in request order.
  let txNow: string | null = null;
  const now = async (): Promise<string> => {
    if (txNow === null) {
      const [row] = await database.rows<{ now: string }>(sql.raw(`select ${isoInstant("now()")} as now`), tx);
      txNow = row?.now ?? new Date().toISOString();
    }
    return txNow;
  };
  const outcomes: Outcome[] = [];
  const answered = new Map<string, Outcome>();
  const pendingConflicts: { index: number; values: typeof schema.syncConflicts.$inferInsert }[] = [];
  const history: HistoryEntry[] = [];
  for (const item of items) {
    const { change, type, data } = item;
    const changeId = change.change_id;
    if (changeId !== undefined) {
      const replay = replays.get(changeId);
      if (replay) {
        outcomes.push({ result: replay.result, ...(replay.conflict ? { conflict: replay.conflict } : {}) });
        continue;
      }
      const earlier = answered.get(changeId);
      if (earlier) {
        // The same change_id twice in one request: the second answers the first's answer.
        outcomes.push({ result: earlier.result, ...(earlier.conflict ? { conflict: earlier.conflict } : {}) });
        continue;
      }
    }
    const state = rows.get(rowKey(type, change.entity_id));
    if (!state) throw new Error(`${type} ${change.entity_id}: no row state for a change of the batch`);
    const current = state.current;
    let decision: Decision = decide(
      { operation: change.operation, version: change.version, data, device_id: deviceId, change_id: changeId },
      current && { version: current.version, deleted: current.deleted, data: current.own, modified_by_device_id: current.modifiedByDeviceId },
    );
    const base = current && change.operation !== "CREATE" ? baseOf(type, change.entity_id, change.version) : null;
    // A stale UPDATE of a live row merges when the fields it changes are untouched since its base.
    let merged = false;
    if (mode.merges && decision.outcome === "conflict" && decision.type === "version_mismatch" && current && base && !base.deleted && change.version < current.version) {
      const unmergeable = unmergeableFields(entityDefinitions[type]);
      const merge = unmergeable && mergeStaleUpdate(base.data, data, current.own, unmergeable);
      if (unmergeable && repeatsOwnMergedWrite(change, deviceId, data, current)) {
        merged = true;
        decision = { outcome: "noop", version: current.version };
      } else if (merge && merge.merged) {
        merged = true;
        decision =
          merge.clientFields.length === 0
            ? { outcome: "noop", version: current.version }
            : { outcome: "apply", write: "update", version: current.version + 1, data: merge.data };
      }
    }
    // References are judged only for a change that would write: a replay, a no-op or a conflict
    // answers as it would without them (a row a replayed CREATE names may have been deleted since).
    if (decision.outcome === "apply") {
      const dangling = danglingReferences(references, item, inBatch, change.operation === "UPDATE" ? (current?.own ?? null) : null);
      if (dangling) {
        const refused = failed(change, "VALIDATION_ERROR", dangling);
        outcomes.push(refused);
        if (changeId !== undefined) answered.set(changeId, refused);
        continue;
      }
    }
    let outcome: Outcome;
    switch (decision.outcome) {
      case "noop":
        outcome = { result: { ...baseResult(change), status: "applied", version: decision.version } };
        if (merged && current) {
          // Its changes were already made: the client takes the row as the server holds it.
          const data = state.written ? wireData(current, current.data["created_at"], await now()) : current.data;
          outcome.result = { ...outcome.result, merged: true, data };
        }
        break;
      case "not_found":
        outcome = failed(change, "ENTITY_NOT_FOUND", `No ${type} '${change.entity_id}' exists in your organization.`);
        break;
      case "conflict": {
        if (!current) throw new Error(`${type} ${change.entity_id}: a conflict with no row`);
        // A row an earlier change of this batch wrote is as that write left it, at the transaction's time.
        const server = state.written ? { ...current, updatedAt: await now() } : current;
        const serverData = state.written ? wireData(current, current.data["created_at"], server.updatedAt) : current.data;
        const id = randomUUID();
        const baseData = base ? { id: change.entity_id, version: change.version, ...base.data } : null;
        pendingConflicts.push({ index: outcomes.length, values: conflictValues(id, principal, deviceId, item, server, serverData, baseData, decision.type) });
        outcome = { result: { ...baseResult(change), status: "conflict", conflict_id: id } };
        break;
      }
      case "apply": {
        // `data` keeps the row's creation time; `updatedAt` is the transaction's, read only if a conflict needs it.
        state.current = {
          id: change.entity_id,
          version: decision.version,
          deleted: decision.write === "delete",
          own: decision.data,
          data: current ? { created_at: current.data["created_at"] } : {},
          modifiedByDeviceId: deviceId,
          updatedAt: "",
        };
        state.written = true;
        known.set(versionKey(type, change.entity_id, decision.version), { data: decision.data, deleted: decision.write === "delete" });
        history.push({
          type,
          id: change.entity_id,
          version: decision.version,
          operation: change.operation,
          changedFields: decision.write === "delete" ? [] : changedFields(type, current?.deleted === false ? current.own : null, decision.data),
          data: decision.data,
          deleted: decision.write === "delete",
          merged,
        });
        outcome = { result: { ...baseResult(change), status: "applied", version: decision.version }, wrote: type };
        if (merged) outcome.result = { ...outcome.result, merged: true, data: wireData(state.current, current?.data["created_at"], await now()) };
        break;
      }
    }
    outcomes.push(outcome);
    if (changeId !== undefined) answered.set(changeId, outcome);
  }

  // An atomic batch with a change that cannot apply writes nothing: the caller rolls back.
  if (mode.atomic && outcomes.some((o) => o.result.status !== "applied")) throw new BatchAborted(outcomes);

  // 5. Write: rows (one insert and one update per type), conflicts, ledger, audit.
  for (const type of idsByType.keys()) {
    const inserts: EntityRowWrite[] = [];
    const updates: EntityRowWrite[] = [];
    for (const state of rows.values()) {
      if (state.type !== type || !state.written || !state.current) continue;
      const write = { id: state.current.id, own: state.current.own, version: state.current.version, deleted: state.current.deleted };
      (state.existed ? updates : inserts).push(write);
    }
    if (inserts.length > 0) {
      const inserted = await insertEntities(database, tx, type, principal.orgId, deviceId, inserts);
      if (inserted.size !== inserts.length) throw new InsertRaced(type);
    }
    if (updates.length > 0) {
      const updated = await updateEntities(database, tx, type, principal.orgId, deviceId, updates);
      if (updated !== updates.length) throw new Error(`${type}: ${updates.length - updated} locked rows vanished`);
    }
  }
  await recordHistory(database, tx, { orgId: principal.orgId, userId: principal.userId, deviceId }, history);
  if (pendingConflicts.length > 0) {
    const recorded = await tx.insert(schema.syncConflicts).values(pendingConflicts.map((c) => c.values)).returning();
    const byId = new Map(recorded.map((row) => [row.id, conflictDataOf(row)]));
    for (const { index } of pendingConflicts) {
      const outcome = outcomes[index];
      const conflict = outcome?.result.conflict_id === undefined ? undefined : byId.get(outcome.result.conflict_id);
      if (!outcome || !conflict) throw new Error("a recorded conflict is missing from the insert's answer");
      outcome.conflict = conflict;
    }
  }
  const settled: { change_id: string; result: LedgerEntry }[] = [];
  const forgotten: string[] = [];
  for (const [changeId, outcome] of answered) {
    if (!claimed.has(changeId)) continue;
    if (outcome.result.status === "failed") forgotten.push(changeId);
    else settled.push({ change_id: changeId, result: { result: outcome.result, ...(outcome.conflict ? { conflict: outcome.conflict } : {}) } });
  }
  if (settled.length > 0) {
    await database.rows(
      sql`update processed_changes p set result = v.result
          from jsonb_to_recordset(${JSON.stringify(settled)}::jsonb) as v(change_id text, result jsonb)
          where p.device_id = ${deviceId} and p.change_id = v.change_id
          returning 1`,
      tx,
    );
  }
  if (forgotten.length > 0) {
    // Nothing happened to these: forget the claims, so the changes may be sent again once they can apply.
    await database.rows(
      sql`delete from processed_changes
          where device_id = ${deviceId} and change_id in (select jsonb_array_elements_text(${JSON.stringify(forgotten)}::jsonb))
          returning 1`,
      tx,
    );
  }
  return outcomes;
}

/**
 * A change without `change_id` sent again after its answer was lost, when the server had merged it:
 * the device's own write is the row's last, and the row already holds every value it sets. (The
 * replay rule of `decide` looks one version back only; a merged write moved the row further.)
 */
function repeatsOwnMergedWrite(change: PushChange, deviceId: string, patch: Readonly<Record<string, unknown>>, current: StoredRow): boolean {
  return (
    change.change_id === undefined &&
    current.modifiedByDeviceId === deviceId &&
    Object.entries(patch).every(([key, value]) => value === undefined || sameValue(value, current.own[key]))
  );
}

function conflictValues(
  id: string,
  principal: Principal,
  deviceId: string,
  checked: CheckedChange,
  current: StoredRow,
  serverData: Record<string, unknown>,
  baseData: Record<string, unknown> | null,
  conflictType: ConflictData["conflict_type"],
): typeof schema.syncConflicts.$inferInsert {
  const { change, type, data } = checked;
  const suggested: SuggestedResolution = suggestResolution(type, {
    conflict_type: conflictType,
    client_data: data,
    server_data: current.own,
    client_modified_at: change.modified_at ?? null,
    server_modified_at: current.updatedAt,
    server_deleted: current.deleted,
  }).resolution;
  return {
    id,
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
    serverData,
    baseData,
    clientTimestamp: change.modified_at ? new Date(change.modified_at) : null,
    serverTimestamp: new Date(current.updatedAt),
    suggestedResolution: suggested,
  };
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
    ...(row.baseData === null ? {} : { base_data: row.baseData }),
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

/** A committed batch: what became of its changes, and the device's stored pull positions. */
interface Committed {
  outcomes: Outcome[];
  states: DeviceCursor[];
}

interface DeviceCursor {
  entityType: string;
  cursor: string | null;
}

/**
 * `POST /sync/push`: one set-based batch in one transaction (see `applyBatch`). A change that cannot
 * apply answers `failed` or `conflict` alone unless the request is `atomic`, when the batch applies
 * whole or not at all. The answer carries one result per change, in order; pokes follow the commit.
 */
export async function pushChanges(ctx: ServerContext, principal: Principal, input: PushInput, options: PushOptions = {}): Promise<PushResponse> {
  const deviceId = input.device_id;
  const atomic = input.atomic === true;
  const mode: BatchMode = { atomic, merges: options.merges ?? true };
  const checked = input.changes.map((change, index) => checkChange(change, index));
  const refused = checked.findIndex(isOutcome);
  const committed =
    atomic && refused >= 0
      ? await finishPush(ctx, principal, deviceId, abortedOutcomes(checked.map((c) => (isOutcome(c) ? c : null)), refused), input.changes.length)
      : await pushBatch(ctx, principal, deviceId, checked, mode, input.changes.length);
  const { outcomes } = committed;

  const results = outcomes.map((o) => o.result);
  const conflicts = outcomes.flatMap((o) => (o.conflict && o.result.status === "conflict" ? [o.conflict] : []));
  const applied = results.filter((r) => r.status === "applied").length;
  const failedCount = results.filter((r) => r.status === "failed").length;

  const token = tokenOf(ctx, principal, committed.states);
  const written = new Set(outcomes.flatMap((o) => (o.wrote ? [o.wrote] : [])));
  if (written.size > 0) await publishPoke(ctx, principal.orgId, [...written]);

  const metrics = metricsFor(ctx);
  metrics.pushes.inc();
  metrics.changesPushed.inc(input.changes.length);
  metrics.changesApplied.inc(applied);
  metrics.changesConflicted.inc(conflicts.length);
  metrics.changesMerged.inc(results.filter((r) => r.merged === true).length);
  metrics.changesFailed.inc(failedCount);
  return { applied, conflicts, failed: failedCount, sync_token: token, results };
}

/** Lays the batch's outcomes back between the changes refused before it, in request order. */
function inRequestOrder(checked: readonly (CheckedChange | Outcome)[], batch: readonly Outcome[]): Outcome[] {
  let next = 0;
  return checked.map((item) => {
    if (isOutcome(item)) return item;
    const outcome = batch[next++];
    if (!outcome) throw new Error("a batch answered fewer outcomes than it had changes");
    return outcome;
  });
}

/** SQLSTATE classes of a value the database would not store (22: data exception, 23: integrity). */
const isDataError = (error: unknown): boolean => /^2[23]/.test(sqlState(error) ?? "");

async function pushBatch(
  ctx: ServerContext,
  principal: Principal,
  deviceId: string,
  checked: readonly (CheckedChange | Outcome)[],
  mode: BatchMode,
  pushed: number,
): Promise<Committed> {
  const items = checked.filter((item): item is CheckedChange => !isOutcome(item));
  try {
    const committed = await commitBatch(ctx, principal, deviceId, items, mode, pushed);
    return { outcomes: inRequestOrder(checked, committed.outcomes), states: committed.states };
  } catch (error) {
    if (error instanceof BatchAborted) {
      const offending = error.outcomes.findIndex((o) => o.result.status !== "applied");
      const known = error.outcomes.map((o) => (o.result.status === "applied" ? null : o));
      return finishPush(ctx, principal, deviceId, abortedOutcomes(known, offending), pushed);
    }
    if (!isDataError(error) || items.length === 0) throw error;
    ctx.log.warn("push: the database refused a value of the batch; applying its changes one by one", { sqlState: sqlState(error) });
    if (mode.atomic) {
      // Nothing is kept, but the change whose value was refused says why, so the client can fix it.
      const refused = await firstRefusedValue(ctx, principal, deviceId, items, mode);
      const at = refused === null ? -1 : checked.indexOf(refused.item);
      const outcomes = items.map((item) =>
        item === refused?.item
          ? failed(item.change, "VALIDATION_ERROR", refused.detail)
          : failed(
              item.change,
              "ATOMIC_BATCH_ABORTED",
              at >= 0 ? `Not applied: change ${at} could not be stored and the batch is atomic.` : "Not applied: a value of the batch could not be stored and the batch is atomic.",
            ),
      );
      return finishPush(ctx, principal, deviceId, inRequestOrder(checked, outcomes), pushed);
    }
  }
  // A value validation let through that the database refuses fails its own change, not the batch.
  const outcomes: Outcome[] = [];
  for (const item of items) {
    try {
      outcomes.push(...(await commitBatch(ctx, principal, deviceId, [item], { ...mode, atomic: false }, 0)).outcomes);
    } catch (error) {
      if (!isDataError(error)) throw error;
      outcomes.push(failed(item.change, "VALIDATION_ERROR", checkViolationIssues(error, item.type, ["data"]) ?? "The server cannot store a value of this change."));
    }
  }
  return finishPush(ctx, principal, deviceId, inRequestOrder(checked, outcomes), pushed);
}

/** Thrown to roll back a transaction that only looked. */
class LookedOnly extends Error {}

/**
 * The first change of an atomic batch whose value the database refuses: the changes are applied one
 * after another, each in a savepoint, in a transaction that is always rolled back.
 */
async function firstRefusedValue(
  ctx: ServerContext,
  principal: Principal,
  deviceId: string,
  items: readonly CheckedChange[],
  mode: BatchMode,
): Promise<{ item: CheckedChange; detail: ValidationIssue[] | string } | null> {
  let found: { item: CheckedChange; detail: ValidationIssue[] | string } | null = null;
  try {
    await ctx.database.db.transaction(async (tx) => {
      for (const item of items) {
        try {
          await tx.transaction((savepoint) => applyBatch(ctx, savepoint, principal, deviceId, [item], { ...mode, atomic: false }));
        } catch (error) {
          if (!isDataError(error)) throw error;
          found = { item, detail: checkViolationIssues(error, item.type, ["data"]) ?? "The server cannot store a value of this change." };
          break;
        }
      }
      throw new LookedOnly();
    });
  } catch (error) {
    if (!(error instanceof LookedOnly)) throw error;
  }
  return found;
}

/** `applyBatch` in a transaction of its own, with the audit entry; run again after a deadlock or a lost insert race. */
async function commitBatch(
  ctx: ServerContext,
  principal: Principal,
  deviceId: string,
  items: readonly CheckedChange[],
  mode: BatchMode,
  pushed: number,
): Promise<Committed> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withRetry(() =>
        ctx.database.db.transaction(async (tx) => {
          const outcomes = await applyBatch(ctx, tx, principal, deviceId, items, mode);
          const states = await auditAndReadCursors(tx, principal, deviceId, outcomes, pushed);
          return { outcomes, states };
        }),
      );
    } catch (error) {
      // The winner of the race has committed: the next attempt finds its row and decides against it.
      if (!(error instanceof InsertRaced) || attempt >= 3) throw error;
    }
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

/** Audits the push and reads the device's pull positions, on the batch's transaction. */
async function auditAndReadCursors(
  tx: Executor,
  principal: Principal,
  deviceId: string,
  outcomes: readonly Outcome[],
  pushed: number,
): Promise<DeviceCursor[]> {
  if (pushed > 0) {
    await recordAudit(tx, {
      eventType: AuditEvent.SyncCompleted,
      orgId: principal.orgId,
      userId: principal.userId,
      deviceId,
      details: {
        direction: "push",
        changes_pulled: 0,
        changes_pushed: outcomes.filter((o) => o.result.status === "applied").length,
        conflicts: outcomes.filter((o) => o.result.status === "conflict").length,
      },
    });
  }
  return tx
    .select({ entityType: schema.deviceSyncState.entityType, cursor: schema.deviceSyncState.cursor })
    .from(schema.deviceSyncState)
    .where(eq(schema.deviceSyncState.deviceId, deviceId));
}

/** For a batch that wrote nothing of its own: the audit entry and the cursors in a transaction of their own. */
async function finishPush(ctx: ServerContext, principal: Principal, deviceId: string, outcomes: Outcome[], pushed: number): Promise<Committed> {
  const states = await ctx.database.db.transaction((tx) => auditAndReadCursors(tx, principal, deviceId, outcomes, pushed));
  return { outcomes, states };
}

/** The device's pull position as of its last pull, as a sync token. */
function tokenOf(ctx: ServerContext, principal: Principal, states: readonly DeviceCursor[]): string {
  const cursors: Partial<Record<EntityType, TypeCursor>> = {};
  let issuedAt = Math.floor(ctx.now().getTime() / 1000);
  for (const state of states) {
    const stored = parseStoredCursor(state.cursor);
    if (!stored || !isEntityType(state.entityType)) continue;
    cursors[state.entityType] = stored.cursor;
    issuedAt = Math.min(issuedAt, stored.issuedAt);
  }
  const payload: SyncTokenPayload = { v: 1, u: principal.userId, o: principal.orgId, e: ctx.database.epoch, t: issuedAt, c: cursors };
  return encodeSyncToken(payload, ctx.keys.tokenSecret);
}
