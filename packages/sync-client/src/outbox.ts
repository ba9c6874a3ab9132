import { entityDefinitions, type EntityType } from "@repensar/contracts";
import { Operation, type EntityData, type PendingChange, type ServerState } from "./local-store";

/**
 * The outbox rules, free of storage. Every store runs its writes through these functions, so the
 * coalescing and rebasing behave the same in SQLite, in memory, and in any store added later.
 */

/** What a new local edit does to the row's last outbox entry. */
export type Coalesced =
  /** Fold into the last entry, which stays under its change id. */
  | { kind: "replace"; entry: PendingChange }
  /** The last entry and the edit cancel out (CREATE then DELETE before any push). */
  | { kind: "drop"; changeId: string }
  /** Queue a new entry (nothing pending, or the last entry was already sent). */
  | { kind: "append"; operation: Operation; data: EntityData; version: number };

/**
 * DESIGN §6: CREATE+UPDATE -> CREATE; UPDATE+UPDATE -> one UPDATE; CREATE+DELETE -> nothing;
 * UPDATE+DELETE -> DELETE. A sent entry never coalesces: the server may already hold it under its
 * change id, so the edit queues behind it, at the same base version until that push settles.
 */
export function coalesce(
  last: PendingChange | undefined,
  baseVersion: number,
  operation: Operation,
  data: EntityData,
  modifiedAt: string,
): Coalesced {
  if (!last) return { kind: "append", operation, data, version: operation === Operation.Create ? 0 : baseVersion };
  if (last.sent_at !== null) return { kind: "append", operation, data, version: last.version };
  if (operation === Operation.Update && last.operation !== Operation.Delete) {
    return { kind: "replace", entry: { ...last, data: { ...last.data, ...data }, modified_at: modifiedAt } };
  }
  if (operation === Operation.Delete && last.operation === Operation.Create) {
    return { kind: "drop", changeId: last.change_id };
  }
  if (operation === Operation.Delete && last.operation === Operation.Update) {
    return { kind: "replace", entry: { ...last, operation: Operation.Delete, data: {}, modified_at: modifiedAt } };
  }
  // A row with a pending DELETE is gone locally, and CREATE needs an unused id: the store refuses
  // both before asking here, so reaching this line is a bug in the store.
  throw new TypeError(`Cannot follow ${last.operation} with ${operation}`);
}

export interface VisibleState {
  data: EntityData;
  deleted_at: string | null;
  updated_at: string | null;
}

/**
 * The row the app sees: the newest server state with the pending entries replayed on top. An
 * UPDATE over a server tombstone shows the edited row until the conflict it will raise is settled.
 */
export function materialize(start: ServerState | null, entries: readonly PendingChange[]): VisibleState {
  let state: VisibleState = start
    ? { data: start.data, deleted_at: start.deleted_at, updated_at: start.updated_at }
    : { data: {}, deleted_at: null, updated_at: null };
  for (const entry of entries) state = replay(state, entry);
  return state;
}

function replay(state: VisibleState, entry: PendingChange): VisibleState {
  switch (entry.operation) {
    case Operation.Create:
      return { data: entry.data, deleted_at: null, updated_at: entry.modified_at };
    case Operation.Update:
      return { data: { ...state.data, ...entry.data }, deleted_at: null, updated_at: entry.modified_at };
    case Operation.Delete:
      return { data: state.data, deleted_at: entry.modified_at, updated_at: entry.modified_at };
  }
}

/** The server's state after it applied `entry` at `version`, on top of `base`. */
export function serverStateAfter(base: ServerState | null, entry: PendingChange, version: number): ServerState {
  const previous = base?.data ?? {};
  switch (entry.operation) {
    case Operation.Create:
      return { version, data: entry.data, deleted_at: null, updated_at: entry.modified_at };
    case Operation.Update:
      return { version, data: { ...previous, ...entry.data }, deleted_at: null, updated_at: entry.modified_at };
    case Operation.Delete:
      return { version, data: previous, deleted_at: entry.modified_at, updated_at: entry.modified_at };
  }
}

/** Every defined field present, unset ones as `null`; fields the entity does not define are left out. */
export function normalizeData(type: EntityType, data: Readonly<Record<string, unknown>>): EntityData {
  const out: EntityData = {};
  for (const name of Object.keys(entityDefinitions[type].fields)) out[name] = data[name] ?? null;
  return out;
}
