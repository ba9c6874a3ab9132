import { ConflictType } from "./conflict";
import { sameFields, sameValue, setField } from "./equality";

export const Operation = { Create: "CREATE", Update: "UPDATE", Delete: "DELETE" } as const;
export type Operation = (typeof Operation)[keyof typeof Operation];

/** A pushed change, reduced to what deciding needs. `data` holds own fields only (no system fields). */
export interface IncomingChange {
  operation: Operation;
  /** The server version the change is based on; 0 for CREATE (ignored for CREATE). */
  version: number;
  /** CREATE: the whole row. UPDATE: the changed fields (absent fields keep their value). DELETE: unused. */
  data: Readonly<Record<string, unknown>>;
  device_id?: string | undefined;
  /** When present, idempotency is the caller's ledger's job and no replay is guessed from the data. */
  change_id?: string | undefined;
}

/** The row as the server holds it now (a tombstone when `deleted`). */
export interface ServerRow {
  version: number;
  deleted: boolean;
  /** Own fields only. */
  data: Readonly<Record<string, unknown>>;
  modified_by_device_id: string | null;
}

export type Decision =
  | {
      outcome: "apply";
      write: "insert" | "update" | "delete";
      /** The version to write. */
      version: number;
      /** The row's complete own fields after the change (for a delete: the fields the tombstone keeps). */
      data: Record<string, unknown>;
    }
  /** Nothing to write; answer the change as applied at `version`. */
  | { outcome: "noop"; version: number }
  | { outcome: "conflict"; type: ConflictType }
  /** UPDATE or DELETE of an id the caller's organization does not have. */
  | { outcome: "not_found" };

export interface DecideOptions {
  /**
   * Treat a change without `change_id` that repeats the device's own last write of the row as a
   * replay (default true). A client that lost the answer to its push sends the same change again,
   * based on the version it knew; without this it would meet its own write as a conflict.
   */
  recognizeReplays?: boolean;
}

/**
 * What the server does with one pushed change, given the row as it stands.
 *
 * Versions are compared for equality: a change applies only when it is based on the row's current
 * version, and then writes `version + 1`. Anything else is a conflict (or a replay, or not found).
 */
export function decide(change: IncomingChange, current: ServerRow | null, options: DecideOptions = {}): Decision {
  switch (change.operation) {
    case Operation.Create:
      return decideCreate(change, current);
    case Operation.Update:
      return decideUpdate(change, current, options.recognizeReplays ?? true);
    case Operation.Delete:
      return decideDelete(change, current);
  }
}

function decideCreate(change: IncomingChange, current: ServerRow | null): Decision {
  if (current === null) return { outcome: "apply", write: "insert", version: 1, data: { ...change.data } };
  // Identical data on a live row: the same CREATE arriving again (a retry after a lost answer).
  if (!current.deleted && sameFields(current.data, change.data)) return { outcome: "noop", version: current.version };
  return { outcome: "conflict", type: ConflictType.CreateExists };
}

function decideUpdate(change: IncomingChange, current: ServerRow | null, recognizeReplays: boolean): Decision {
  if (current === null) return { outcome: "not_found" };
  if (current.deleted) return { outcome: "conflict", type: ConflictType.UpdateOnDeleted };
  if (current.version !== change.version) {
    if (recognizeReplays && repeatsOwnLastWrite(change, current)) return { outcome: "noop", version: current.version };
    return { outcome: "conflict", type: ConflictType.VersionMismatch };
  }
  return { outcome: "apply", write: "update", version: current.version + 1, data: applyPatch(current.data, change.data) };
}

function decideDelete(change: IncomingChange, current: ServerRow | null): Decision {
  if (current === null) return { outcome: "not_found" };
  // Both sides wanted it gone: the tombstone answers, whatever version the client saw.
  if (current.deleted) return { outcome: "noop", version: current.version };
  if (current.version !== change.version) return { outcome: "conflict", type: ConflictType.DeleteOnModified };
  return { outcome: "apply", write: "delete", version: current.version + 1, data: { ...current.data } };
}

/** The device's own previous write of this row, sent again: it moved the row exactly one version, to this data. */
function repeatsOwnLastWrite(change: IncomingChange, current: ServerRow): boolean {
  return (
    change.change_id === undefined &&
    change.device_id !== undefined &&
    change.device_id === current.modified_by_device_id &&
    current.version === change.version + 1 &&
    Object.entries(change.data).every(([key, value]) => value === undefined || sameValue(value, current.data[key]))
  );
}

/** The row's fields with a patch laid over them; a key whose value is `undefined` is not part of the patch. */
export function applyPatch(
  row: Readonly<Record<string, unknown>>,
  patch: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...row };
  for (const [key, value] of Object.entries(patch)) if (value !== undefined) setField(result, key, value);
  return result;
}
