import type { EntityType } from "@repensar/contracts";

/** A row's own fields (no `id`, `version` or timestamps). Every defined field is present; unset ones are `null`. */
export type EntityData = Record<string, unknown>;

export const Operation = { Create: "CREATE", Update: "UPDATE", Delete: "DELETE" } as const;
export type Operation = (typeof Operation)[keyof typeof Operation];

/** A row as the app sees it: the server's newest known state with this device's pending changes on top. */
export interface LocalRow {
  readonly type: EntityType;
  readonly id: string;
  readonly data: EntityData;
  /** The newest server version this device knows for the row; 0 when it has never been on the server. */
  readonly version: number;
  readonly created_at: string;
  readonly updated_at: string;
  /** Set when deleted (locally or on the server). Deleted rows are hidden unless asked for. */
  readonly deleted_at: string | null;
  /** True while the outbox holds a change for this row. */
  readonly pending: boolean;
}

/** A row as the server holds it at one version. A tombstone has `deleted_at` set and keeps its last data. */
export interface ServerState {
  readonly version: number;
  readonly data: EntityData;
  readonly deleted_at: string | null;
  readonly updated_at: string | null;
}

/**
 * One outbox entry: what will be pushed, already coalesced. Field names are the wire's.
 *
 * `change_id` is the push's idempotency key. Once an entry has been marked sent it is frozen: the
 * server may have applied it, and a retry must send exactly the same change under the same id. A
 * local edit made while an entry is in flight becomes a new entry with its own `change_id`, queued
 * behind the first; only unsent entries coalesce.
 */
export interface PendingChange {
  readonly change_id: string;
  readonly entity_type: EntityType;
  readonly entity_id: string;
  readonly operation: Operation;
  /** CREATE: the row's fields. UPDATE: only the changed fields. DELETE: `{}`. */
  readonly data: EntityData;
  /** The server version this change builds on (0 for CREATE). */
  readonly version: number;
  /** When the newest local edit folded into this entry was made. */
  readonly modified_at: string;
  /** When the entry was first handed to a push; `null` while it may still coalesce. */
  readonly sent_at: string | null;
  readonly retry_count: number;
  readonly last_error: ChangeError | null;
  /**
   * When the server refused the change for good (validation, a dangling reference, a type it does
   * not know), with the reason in `last_error`. A refused entry is held: it is not pushed, and stays
   * on the device until a local edit of the row folds into it (queuing it again), `resendChange`,
   * or the user's `discardChange`. Offline work is never deleted because the rules changed.
   */
  readonly refused_at: string | null;
}

export interface ChangeError {
  readonly code: string;
  readonly detail: string;
}

/** One change of a pull page, as `/sync/pull` returns it. */
export interface ServerChange {
  readonly entity_type: string;
  readonly entity_id: string;
  readonly operation: Operation;
  readonly data: Readonly<Record<string, unknown>>;
  readonly version: number;
  readonly modified_at?: string | null | undefined;
  readonly modified_by_device_id?: string | null | undefined;
}

export interface ApplyServerChangesResult {
  /** Rows written as the server sent them. */
  readonly applied: number;
  /** Rows with pending local changes: the server state was recorded, the local edits stay on top. */
  readonly rebased: number;
  /** Changes no newer than what the device already had (e.g. its own push, seen again). */
  readonly skipped: number;
}

/** Everything a resolver needs about one row. */
export interface RowSyncState {
  readonly row: LocalRow;
  /** The server state the pending changes build on: the common ancestor of a three-way merge. `null` if never on the server. */
  readonly base: ServerState | null;
  /** The newest server state seen by a pull while changes were pending, when newer than `base`. */
  readonly server: ServerState | null;
  /** The row's outbox entries, oldest first (at most one sent and one unsent). */
  readonly pending: readonly PendingChange[];
}

export interface ListOptions {
  readonly includeDeleted?: boolean;
}

/**
 * The app's writes inside `LocalStore.transaction`: the same rules as the store's own `create`,
 * `update` and `delete`, synchronous so that they all land in one transaction.
 */
export interface LocalWriter {
  create(type: EntityType, data: Readonly<Record<string, unknown>>): LocalRow;
  update(type: EntityType, id: string, patch: Readonly<Record<string, unknown>>): LocalRow;
  delete(type: EntityType, id: string): void;
  /** Sees the transaction's own writes. */
  get(type: EntityType, id: string, options?: ListOptions): LocalRow | null;
}

/** What the server answered for one applied change of a push. */
export interface AppliedChange {
  readonly change_id: string;
  readonly version: number;
  /**
   * The row as the server left it when it merged the change with edits made since its base (the
   * push answer's `data`); without it the row is the base with the change laid over it.
   */
  readonly server?: ServerState;
}

/**
 * The device's copy of the data and its outbox. Asynchronous throughout so stores over
 * asynchronous engines (React Native SQLite, IndexedDB) can implement it; each method is atomic:
 * a local write and its outbox entry, or a pulled page and its cursor, commit together or not at all.
 */
export interface LocalStore {
  // --- What the app does -------------------------------------------------------------------

  /** Creates a row (id from `data.id`, else a new UUIDv7) and queues its CREATE. */
  create(type: EntityType, data: Readonly<Record<string, unknown>>): Promise<LocalRow>;
  /** Changes some fields and queues an UPDATE carrying them (coalesced with an unsent entry). */
  update(type: EntityType, id: string, patch: Readonly<Record<string, unknown>>): Promise<LocalRow>;
  /** Deletes locally (hidden from get/list) and queues a DELETE; a never-pushed row simply disappears. */
  delete(type: EntityType, id: string): Promise<void>;
  get(type: EntityType, id: string, options?: ListOptions): Promise<LocalRow | null>;
  /** Rows in id order (creation order for UUIDv7 ids). */
  list(type: EntityType, options?: ListOptions): Promise<LocalRow[]>;
  /**
   * Runs `write` as one transaction: its writes and their outbox entries commit together, with one
   * fsync for all of them, or not at all if it throws. Writes coalesce in the outbox exactly as
   * single writes do. `write` must be synchronous: it may not await, and its writer refuses to be
   * used once it has returned. A write that throws and is caught inside `write` leaves nothing of
   * itself behind and the others stand.
   */
  transaction<T>(write: (writer: LocalWriter) => T): Promise<T>;
  /**
   * Imports rows in one transaction (all or nothing): a row whose `id` names a live row updates the
   * fields it gives; any other row is created (id from `id`, else a new UUIDv7). In input order.
   */
  putMany(type: EntityType, rows: readonly Readonly<Record<string, unknown>>[]): Promise<LocalRow[]>;

  // --- Outbox ------------------------------------------------------------------------------

  /**
   * Entries ready to push, oldest first, at most one per row: an entry queued behind an in-flight
   * one for the same row waits until that one completes, because its `version` is only known then.
   * Sent entries still unanswered are included, to be resent under the same `change_id`; refused
   * (held) entries are not.
   */
  pendingChanges(limit?: number): Promise<PendingChange[]>;
  /** Every entry in the outbox, in order, including queued ones. */
  pendingCount(): Promise<number>;
  /** Freezes entries about to be pushed: later local edits queue behind them instead of coalescing. */
  markSent(changeIds: readonly string[]): Promise<void>;
  /**
   * The server applied the change at `version`. Removes the entry, records the version, and makes
   * entries queued behind it build on that version. If a pull already showed a newer server state,
   * the row takes that state instead (a replayed push answers with its first, older answer).
   */
  completeChange(changeId: string, result: { readonly version: number }): Promise<void>;
  /**
   * `completeChange` for every applied change of a push, in one transaction (one fsync for the
   * batch instead of one per change). All or nothing: a change id not in the outbox fails it whole.
   */
  completeChanges(results: readonly AppliedChange[]): Promise<void>;
  /** A push attempt failed without settling the change: count it and keep the entry. Returns the new retry count. */
  recordFailure(changeId: string, error: ChangeError): Promise<number>;
  /**
   * `recordFailure` for every change of a push that failed as a whole, in one transaction: an
   * offline device that tries to sync pays one fsync per attempt, not one per change. All or nothing.
   */
  recordFailures(changeIds: readonly string[], error: ChangeError): Promise<void>;
  /**
   * The server refused the change for good: the entry is kept, held (`refused_at`, the reason in
   * `last_error`), and no longer frozen (the server kept nothing of it). Entries queued behind it fold
   * into it, so the row keeps every local edit and one entry holds them. Returns the held entry, or
   * `null` when the folded edits cancel out (a refused CREATE the user has since deleted).
   */
  refuseChange(changeId: string, error: ChangeError): Promise<PendingChange | null>;
  /** The held entries, oldest first. */
  refusedChanges(): Promise<PendingChange[]>;
  /** Queues a held entry again, as it is (e.g. once the server's rules allow it). */
  resendChange(changeId: string): Promise<PendingChange>;
  /**
   * Drops the entry, the user's decision (a refused change is only ever dropped this way): the row
   * shows its base with the entries queued behind it on top (their own fields still apply, and are
   * pushed next). Entries queued behind a dropped CREATE have no row to apply to and are dropped too.
   * Returns every entry dropped.
   */
  discardChange(changeId: string): Promise<PendingChange[]>;

  // --- Server state ------------------------------------------------------------------------

  /**
   * Applies one pull page and stores its cursor, in one transaction. Rows without pending changes
   * take the server's state; rows with pending changes keep their local edits on top of the newest
   * server state seen.
   */
  applyServerChanges(changes: readonly ServerChange[], cursor: string | null): Promise<ApplyServerChangesResult>;
  /**
   * Applies a page of a full pass over one type (a re-pull after the type's definition changed)
   * without touching the cursor: like `applyServerChanges`, except that a change at the version the
   * device already holds is taken too, so values of fields the device did not keep before fill in.
   * Rows with pending changes keep their local edits on top, as always.
   */
  reconcileServerChanges(changes: readonly ServerChange[]): Promise<ApplyServerChangesResult>;
  getCursor(): Promise<string | null>;
  setCursor(cursor: string | null): Promise<void>;
  syncState(type: EntityType, id: string): Promise<RowSyncState | null>;
  /**
   * A conflict on this change was settled and the server holds `server` (its row as of the
   * resolution). Removes only this entry, makes `server` the row's base, and moves the entries
   * queued behind it onto that version: edits made while the change waited are kept and pushed
   * next. Returns `false` if the entry is no longer in the outbox (the conflict was settled before).
   */
  settleChange(changeId: string, server: ServerState): Promise<boolean>;
  /** The row is settled to this server state (or gone there: `null`): drops every pending change for it and takes that state. */
  acceptServerState(type: EntityType, id: string, server: ServerState | null): Promise<void>;
  /**
   * Conflict settled for the client or by a merge: `server` becomes the base, and the row's pending
   * changes are replaced by one new, unsent change (new `change_id`) that turns `server` into
   * `resolved` (default: the row as the device has it now). Returns that change, or `null` if none is needed.
   */
  rebaseOnServer(
    type: EntityType,
    id: string,
    server: ServerState,
    resolved?: { readonly data: EntityData; readonly deleted: boolean },
  ): Promise<PendingChange | null>;

  // --- Settings ----------------------------------------------------------------------------

  getMeta(key: string): Promise<string | null>;
  /** `null` removes the key. */
  setMeta(key: string, value: string | null): Promise<void>;
  close(): Promise<void>;
}
