import { sameValue } from "@repensar/conflict-engine";
import { entityDefinitions, isEntityType, validateEntityData, type EntityType } from "@repensar/contracts";
import { LocalStoreError, LocalStoreErrorCode } from "../errors";
import { uuidv7 } from "../id";
import type {
  ApplyServerChangesResult,
  ChangeError,
  EntityData,
  ListOptions,
  LocalRow,
  LocalStore,
  LocalWriter,
  PendingChange,
  RowSyncState,
  ServerChange,
  ServerState,
} from "../local-store";
import { Operation } from "../local-store";
import { coalesce, materialize, normalizeData, serverStateAfter } from "../outbox";

/** A row as a store keeps it: what the app sees, plus the server states the outbox builds on. */
export interface StoredRow {
  readonly id: string;
  readonly data: EntityData;
  readonly version: number;
  readonly created_at: string;
  readonly updated_at: string;
  readonly deleted_at: string | null;
  readonly pending: boolean;
  readonly base: ServerState | null;
  readonly server: ServerState | null;
}

/** An outbox entry with its place in the queue. */
export interface StoredChange extends PendingChange {
  readonly seq: number;
}

/**
 * The synchronous primitives a store provides; the engine holds every rule. SQLite implements
 * them with prepared statements inside `db.transaction`, memory with maps and an undo log.
 */
export interface StoreBackend {
  /** Runs `fn` atomically: everything it wrote commits, or nothing does. */
  transaction<T>(fn: () => T): T;
  getRow(type: EntityType, id: string): StoredRow | null;
  /** In id order. */
  listRows(type: EntityType): StoredRow[];
  putRow(type: EntityType, row: StoredRow): void;
  removeRow(type: EntityType, id: string): void;
  getChange(changeId: string): StoredChange | null;
  /** The row's entries by `seq`. */
  changesFor(type: EntityType, id: string): StoredChange[];
  /** The oldest entry of each row, by `seq`, leaving out rows whose oldest entry is refused (`refused_at` set). */
  headChanges(limit: number): StoredChange[];
  /** Every refused entry (`refused_at` set), by `seq`. */
  refusedChanges(): StoredChange[];
  countChanges(): number;
  /** Adds an entry at the end of the queue. */
  appendChange(change: PendingChange): void;
  /** Rewrites an entry in place (same `change_id`, same `seq`). */
  replaceChange(change: StoredChange): void;
  /** Sets `sent_at` to `at` unless it is set already; `false` if the entry is not in the outbox. */
  markChangeSent(changeId: string, at: string): boolean;
  removeChange(changeId: string): void;
  getMeta(key: string): string | null;
  setMeta(key: string, value: string | null): void;
  close(): void;
}

export interface StoreOptions {
  /** The clock for `updated_at` / `modified_at`; ISO-8601. */
  readonly now?: () => string;
}

const CURSOR_KEY = "sync.cursor";

export function createStore(backend: StoreBackend, options: StoreOptions = {}): LocalStore {
  const now = options.now ?? (() => new Date().toISOString());
  let closed = false;

  function open(): StoreBackend {
    if (closed) throw new LocalStoreError(LocalStoreErrorCode.StoreClosed, "The local store is closed");
    return backend;
  }

  function liveRow(type: EntityType, id: string): StoredRow {
    const row = backend.getRow(type, id);
    if (!row || row.deleted_at !== null) {
      throw new LocalStoreError(LocalStoreErrorCode.EntityNotFound, `No ${type} with id ${id}`);
    }
    return row;
  }

  function mustChange(changeId: string): StoredChange {
    const change = backend.getChange(changeId);
    if (!change) throw new LocalStoreError(LocalStoreErrorCode.ChangeNotFound, `No pending change ${changeId}`);
    return change;
  }

  /** Writes the row as `base`, `server` and `entries` say it is; the single place visible state is derived. */
  function settle(
    type: EntityType,
    id: string,
    createdAt: string,
    base: ServerState | null,
    server: ServerState | null,
    entries: readonly PendingChange[],
  ): StoredRow | null {
    let b = base;
    let s = server && (!b || server.version > b.version) ? server : null;
    if (entries.length === 0 && s) {
      // Nothing left to rebase: the newest server state is simply the row.
      b = s;
      s = null;
    }
    const start = s ?? b;
    if (!start && entries.length === 0) {
      backend.removeRow(type, id);
      return null;
    }
    const visible = materialize(start, entries);
    const row: StoredRow = {
      id,
      data: visible.data,
      version: start?.version ?? 0,
      created_at: createdAt,
      updated_at: visible.updated_at ?? createdAt,
      deleted_at: visible.deleted_at,
      pending: entries.length > 0,
      base: b,
      server: s,
    };
    backend.putRow(type, row);
    return row;
  }

  function newChange(type: EntityType, id: string, operation: Operation, data: EntityData, version: number, at: string): PendingChange {
    return {
      change_id: uuidv7(),
      entity_type: type,
      entity_id: id,
      operation,
      data,
      version,
      modified_at: at,
      sent_at: null,
      retry_count: 0,
      last_error: null,
      refused_at: null,
    };
  }

  /** Puts a local edit into the outbox and returns the row's entries afterwards. */
  function enqueue(type: EntityType, row: StoredRow, operation: Operation, data: EntityData, at: string): PendingChange[] {
    const entries = backend.changesFor(type, row.id);
    const outcome = coalesce(entries.at(-1), row.base?.version ?? 0, operation, data, at);
    switch (outcome.kind) {
      case "replace": {
        const last = entries.at(-1);
        if (!last) throw new TypeError("coalesce replaced an entry that does not exist");
        // An edit of a refused change is the user answering the refusal: it is queued again.
        backend.replaceChange({ ...outcome.entry, refused_at: null, seq: last.seq });
        break;
      }
      case "drop":
        backend.removeChange(outcome.changeId);
        break;
      case "append":
        backend.appendChange(newChange(type, row.id, outcome.operation, outcome.data, outcome.version, at));
        break;
    }
    return backend.changesFor(type, row.id);
  }

  function validated(type: EntityType, data: Readonly<Record<string, unknown>>, mode: "full" | "patch"): EntityData {
    const result = validateEntityData(type, data, mode);
    if (!result.ok) {
      const fields = result.issues.map((issue) => issue.loc.join(".")).join(", ");
      throw new LocalStoreError(LocalStoreErrorCode.ValidationError, `Invalid ${type}: ${fields}`, { issues: result.issues });
    }
    return result.data;
  }

  function knownType(type: string): EntityType {
    if (!isEntityType(type)) throw new LocalStoreError(LocalStoreErrorCode.UnknownEntityType, `Unknown entity type '${type}'`);
    return type;
  }

  /** The state a pulled change describes. Fields this client does not define are left out. */
  function pulledState(type: EntityType, change: ServerChange, previous: EntityData | undefined, at: string): ServerState {
    const when = change.modified_at ?? at;
    if (change.operation === Operation.Delete) {
      return { version: change.version, data: previous ?? normalizeData(type, {}), deleted_at: when, updated_at: when };
    }
    return { version: change.version, data: normalizeData(type, change.data), deleted_at: null, updated_at: when };
  }

  /** `reconcile`: a change at the version already held is taken too (a re-pull of a changed type). */
  function applyOne(change: ServerChange, at: string, reconcile = false): "applied" | "rebased" | "skipped" {
    const type = knownType(change.entity_type);
    const id = change.entity_id;
    const row = backend.getRow(type, id);
    const entries = row ? backend.changesFor(type, id) : [];
    const newest = row ? (row.server ?? row.base) : null;
    if (newest && (change.version < newest.version || (change.version === newest.version && !reconcile))) return "skipped";
    if (!row && change.operation === Operation.Delete) return "skipped"; // never had it: nothing to remove
    const state = pulledState(type, change, newest?.data ?? row?.data, at);
    const createdAt = row?.created_at ?? stringField(change.data, "created_at") ?? state.updated_at ?? at;
    if (entries.length === 0) {
      settle(type, id, createdAt, state, null, []);
      return "applied";
    }
    // Local edits pending: keep them, on top of the newest server state (DESIGN §6). A reconciled
    // state at the base's own version is the base, completed.
    if (row?.base && row.base.version === state.version) {
      settle(type, id, createdAt, { ...state, deleted_at: row.base.deleted_at, updated_at: row.base.updated_at }, row.server, entries);
      return "rebased";
    }
    settle(type, id, createdAt, row?.base ?? null, state, entries);
    return "rebased";
  }

  function localRow(type: EntityType, row: StoredRow): LocalRow {
    return {
      type,
      id: row.id,
      data: row.data,
      version: row.version,
      created_at: row.created_at,
      updated_at: row.updated_at,
      deleted_at: row.deleted_at,
      pending: row.pending,
    };
  }

  function visible(row: StoredRow | null, options: ListOptions | undefined): boolean {
    return row !== null && (options?.includeDeleted === true || row.deleted_at === null);
  }

  function mustRow(type: EntityType, id: string): StoredRow {
    const row = backend.getRow(type, id);
    if (!row) throw new LocalStoreError(LocalStoreErrorCode.EntityNotFound, `No ${type} with id ${id}`);
    return row;
  }

  function stored(row: StoredRow | null): StoredRow {
    if (!row) throw new LocalStoreError(LocalStoreErrorCode.CorruptData, "A row with pending changes vanished");
    return row;
  }

  // The local writes, synchronous so that `transaction` can run many of them inside one backend
  // transaction. Each opens its own (nested: a savepoint), so a write that throws leaves nothing of
  // itself behind even when the app catches the error and carries on with the others.
  function createRow(type: EntityType, input: Readonly<Record<string, unknown>>): StoredRow {
    return open().transaction(() => createInTransaction(type, input));
  }

  function updateRow(type: EntityType, id: string, input: Readonly<Record<string, unknown>>): StoredRow {
    return open().transaction(() => updateInTransaction(type, id, input));
  }

  /** The body of a create, for a caller that holds a transaction. */
  function createInTransaction(type: EntityType, input: Readonly<Record<string, unknown>>): StoredRow {
    knownType(type);
    const id = input.id === undefined ? uuidv7() : input.id;
    if (typeof id !== "string" || id.length === 0 || id.length > 128) {
      throw new LocalStoreError(LocalStoreErrorCode.ValidationError, "id must be a non-empty string of at most 128 characters", {
        issues: [{ loc: ["id"], msg: "Expected a non-empty string of at most 128 characters", type: "invalid_type" }],
      });
    }
    const data = normalizeData(type, validated(type, input, "full"));
    if (backend.getRow(type, id)) throw new LocalStoreError(LocalStoreErrorCode.EntityExists, `A ${type} with id ${id} already exists`);
    const at = now();
    const change = newChange(type, id, Operation.Create, data, 0, at);
    backend.appendChange(change);
    return stored(settle(type, id, at, null, null, [change]));
  }

  /** The body of an update, for a caller that holds a transaction. */
  function updateInTransaction(type: EntityType, id: string, input: Readonly<Record<string, unknown>>): StoredRow {
    knownType(type);
    const patch = validated(type, input, "patch");
    const current = liveRow(type, id);
    if (Object.keys(patch).length === 0) return current;
    const entries = enqueue(type, current, Operation.Update, patch, now());
    return stored(settle(type, id, current.created_at, current.base, current.server, entries));
  }

  function deleteRow(type: EntityType, id: string): void {
    knownType(type);
    const at = now();
    open().transaction(() => {
      const current = liveRow(type, id);
      const entries = enqueue(type, current, Operation.Delete, {}, at);
      settle(type, id, current.created_at, current.base, current.server, entries);
    });
  }

  function getRow(type: EntityType, id: string, options: ListOptions | undefined): LocalRow | null {
    knownType(type);
    const row = open().getRow(type, id);
    return row && visible(row, options) ? localRow(type, row) : null;
  }

  /** An import row names an existing row by `id`: its given fields are an update; any other row is a create. */
  function putInTransaction(type: EntityType, input: Readonly<Record<string, unknown>>): StoredRow {
    const id = input.id;
    if (typeof id === "string") {
      const current = backend.getRow(type, id);
      if (current && current.deleted_at === null) {
        const { id: _id, ...patch } = input;
        return updateInTransaction(type, id, patch);
      }
    }
    return createInTransaction(type, input);
  }

  function countFailure(changeId: string, error: ChangeError): number {
    const change = mustChange(changeId);
    const retry_count = change.retry_count + 1;
    backend.replaceChange({ ...change, retry_count, last_error: { code: error.code, detail: error.detail } });
    return retry_count;
  }

  /** The server applied `changeId` at `version`: drop the entry, move the row and the entries queued behind it onto that version. */
  function completeOne(changeId: string, version: number, merged?: ServerState): void {
    const change = mustChange(changeId);
    const type = change.entity_type;
    const row = stored(backend.getRow(type, change.entity_id));
    backend.removeChange(changeId);
    const after = merged ? { ...merged, data: normalizeData(type, merged.data) } : serverStateAfter(row.base, change, version);
    // A replayed push answers its first, older answer: never move the base backwards (DESIGN §6).
    const base = version > (row.base?.version ?? 0) ? after : row.base;
    // Entries queued behind this one were waiting for its version.
    const rest = backend.changesFor(type, change.entity_id).map((entry) => {
      const rebased = { ...entry, version: base?.version ?? entry.version };
      backend.replaceChange(rebased);
      return rebased;
    });
    settle(type, change.entity_id, row.created_at, base, row.server, rest);
  }

  return {
    async create(type, input) {
      return localRow(type, createRow(type, input));
    },

    async update(type, id, input) {
      return localRow(type, updateRow(type, id, input));
    },

    async delete(type, id) {
      deleteRow(type, id);
    },

    async transaction(write) {
      // The writer works only while `write` runs: a write after it returned (an awaited callback)
      // would commit on its own, outside the all-or-nothing the caller asked for.
      let inside = true;
      const guard = (): void => {
        if (!inside) {
          throw new LocalStoreError(LocalStoreErrorCode.InvalidTransaction, "The transaction's writer was used after the transaction ended");
        }
      };
      const writer: LocalWriter = {
        create: (type, data) => (guard(), localRow(type, createRow(type, data))),
        update: (type, id, patch) => (guard(), localRow(type, updateRow(type, id, patch))),
        delete: (type, id) => (guard(), deleteRow(type, id)),
        get: (type, id, options) => (guard(), getRow(type, id, options)),
      };
      try {
        return open().transaction(() => {
          const result = write(writer);
          if (isThenable(result)) {
            throw new LocalStoreError(LocalStoreErrorCode.InvalidTransaction, "A transaction callback must be synchronous; it returned a promise");
          }
          return result;
        });
      } finally {
        inside = false;
      }
    },

    async putMany(type, rows) {
      knownType(type);
      // All or nothing, so the rows need no savepoint each.
      return open().transaction(() => rows.map((input) => localRow(type, putInTransaction(type, input))));
    },

    async get(type, id, options) {
      return getRow(type, id, options);
    },

    async list(type, options) {
      knownType(type);
      return open()
        .listRows(type)
        .filter((row) => visible(row, options))
        .map((row) => localRow(type, row));
    },

    async pendingChanges(limit = 100) {
      return open()
        .headChanges(limit)
        .map(({ seq: _seq, ...change }) => change);
    },

    async pendingCount() {
      return open().countChanges();
    },

    async markSent(changeIds) {
      const at = now();
      open().transaction(() => {
        // One statement per change, without reading the entry back: a batch is marked before every push.
        for (const changeId of changeIds) {
          if (!backend.markChangeSent(changeId, at)) {
            throw new LocalStoreError(LocalStoreErrorCode.ChangeNotFound, `No pending change ${changeId}`);
          }
        }
      });
    },

    async completeChange(changeId, result) {
      open().transaction(() => completeOne(changeId, result.version));
    },

    async completeChanges(results) {
      // One transaction for a whole push batch: one fsync instead of one per change.
      open().transaction(() => {
        for (const result of results) completeOne(result.change_id, result.version, result.server);
      });
    },

    async recordFailure(changeId, error: ChangeError) {
      return open().transaction(() => countFailure(changeId, error));
    },

    async recordFailures(changeIds, error) {
      open().transaction(() => {
        for (const changeId of changeIds) countFailure(changeId, error);
      });
    },

    async refuseChange(changeId, error) {
      const at = now();
      return open().transaction(() => {
        const change = mustChange(changeId);
        const type = change.entity_type;
        const row = stored(backend.getRow(type, change.entity_id));
        const [head, ...queued] = backend.changesFor(type, change.entity_id);
        if (head?.change_id !== changeId) {
          throw new LocalStoreError(LocalStoreErrorCode.ChangeNotFound, `Change ${changeId} is not the first of its row's outbox`);
        }
        // Unfrozen: the server forgot it, so edits fold into it again, and the queued ones do now.
        let held: StoredChange | null = { ...head, sent_at: null, refused_at: at, last_error: { code: error.code, detail: error.detail } };
        backend.replaceChange(held);
        for (const entry of queued) {
          backend.removeChange(entry.change_id);
          if (!held) continue;
          const folded = coalesce(held, row.base?.version ?? 0, entry.operation, entry.data, entry.modified_at);
          if (folded.kind === "replace") {
            held = { ...folded.entry, seq: held.seq };
            backend.replaceChange(held);
          } else if (folded.kind === "drop") {
            backend.removeChange(held.change_id);
            held = null;
          } else {
            throw new TypeError("an unsent entry did not take the edit queued behind it");
          }
        }
        settle(type, change.entity_id, row.created_at, row.base, row.server, held ? [held] : []);
        if (!held) return null;
        const { seq: _seq, ...entry } = held;
        return entry;
      });
    },

    async refusedChanges() {
      return open()
        .refusedChanges()
        .map(({ seq: _seq, ...change }) => change);
    },

    async resendChange(changeId) {
      return open().transaction(() => {
        const change = mustChange(changeId);
        const queued = { ...change, refused_at: null };
        backend.replaceChange(queued);
        const { seq: _seq, ...entry } = queued;
        return entry;
      });
    },

    async discardChange(changeId) {
      return open().transaction(() => {
        const change = mustChange(changeId);
        const type = change.entity_type;
        const row = stored(backend.getRow(type, change.entity_id));
        backend.removeChange(changeId);
        const dropped: StoredChange[] = [change];
        let kept = backend.changesFor(type, change.entity_id);
        if (change.operation === Operation.Create && row.base === null) {
          // The row never reached the server: edits queued behind its CREATE have nothing to change.
          for (const entry of kept) backend.removeChange(entry.change_id);
          dropped.push(...kept);
          kept = [];
        }
        // Queued entries already build on the refused entry's version, which is the row's base.
        settle(type, change.entity_id, row.created_at, row.base, row.server, kept);
        return dropped.map(({ seq: _seq, ...entry }) => entry);
      });
    },

    async applyServerChanges(changes, cursor): Promise<ApplyServerChangesResult> {
      const at = now();
      return open().transaction(() => {
        const counts = { applied: 0, rebased: 0, skipped: 0 };
        for (const change of changes) counts[applyOne(change, at)] += 1;
        backend.setMeta(CURSOR_KEY, cursor);
        return counts;
      });
    },

    async reconcileServerChanges(changes): Promise<ApplyServerChangesResult> {
      const at = now();
      return open().transaction(() => {
        const counts = { applied: 0, rebased: 0, skipped: 0 };
        for (const change of changes) counts[applyOne(change, at, true)] += 1;
        return counts;
      });
    },

    async getCursor() {
      return open().getMeta(CURSOR_KEY);
    },

    async setCursor(cursor) {
      open().setMeta(CURSOR_KEY, cursor);
    },

    async syncState(type, id): Promise<RowSyncState | null> {
      knownType(type);
      return open().transaction(() => {
        const row = backend.getRow(type, id);
        if (!row) return null;
        const pending = backend.changesFor(type, id).map(({ seq: _seq, ...change }) => change);
        return { row: localRow(type, row), base: row.base, server: row.server, pending };
      });
    },

    async settleChange(changeId, server) {
      return open().transaction(() => {
        const change = backend.getChange(changeId);
        if (!change) return false;
        const type = change.entity_type;
        const row = stored(backend.getRow(type, change.entity_id));
        backend.removeChange(changeId);
        const base = { ...server, data: normalizeData(type, server.data) };
        const rest = backend.changesFor(type, change.entity_id).map((entry) => {
          const rebased = { ...entry, version: base.version };
          backend.replaceChange(rebased);
          return rebased;
        });
        settle(type, change.entity_id, row.created_at, base, row.server, rest);
        return true;
      });
    },

    async acceptServerState(type, id, server) {
      knownType(type);
      open().transaction(() => {
        const row = backend.getRow(type, id);
        for (const entry of backend.changesFor(type, id)) backend.removeChange(entry.change_id);
        const state = server && { ...server, data: normalizeData(type, server.data) };
        settle(type, id, row?.created_at ?? server?.updated_at ?? now(), state, null, []);
      });
    },

    async rebaseOnServer(type, id, server, resolved) {
      knownType(type);
      const at = now();
      return open().transaction(() => {
        const row = mustRow(type, id);
        const target = resolved ?? { data: row.data, deleted: row.deleted_at !== null };
        const base = { ...server, data: normalizeData(type, server.data) };
        const desired = target.deleted ? target.data : normalizeData(type, validated(type, target.data, "full"));
        for (const entry of backend.changesFor(type, id)) backend.removeChange(entry.change_id);

        let change: PendingChange | null = null;
        if (target.deleted) {
          if (base.deleted_at === null) change = newChange(type, id, Operation.Delete, {}, base.version, at);
        } else if (base.deleted_at !== null) {
          // The server deleted it and the device keeps it: send the whole row, the server decides.
          change = newChange(type, id, Operation.Update, desired, base.version, at);
        } else {
          const patch: EntityData = {};
          for (const name of Object.keys(entityDefinitions[type].fields)) {
            if (!sameValue(desired[name], base.data[name])) patch[name] = desired[name] ?? null;
          }
          if (Object.keys(patch).length > 0) change = newChange(type, id, Operation.Update, patch, base.version, at);
        }
        if (change) backend.appendChange(change);
        const newer = row.server && row.server.version > base.version ? row.server : null;
        settle(type, id, row.created_at, base, newer, change ? backend.changesFor(type, id) : []);
        return change;
      });
    },

    async getMeta(key) {
      return open().getMeta(key);
    },

    async setMeta(key, value) {
      open().setMeta(key, value);
    },

    async close() {
      if (closed) return;
      closed = true;
      backend.close();
    },
  };
}

function stringField(data: Readonly<Record<string, unknown>>, name: string): string | null {
  const value = data[name];
  return typeof value === "string" ? value : null;
}

function isThenable(value: unknown): boolean {
  return typeof value === "object" && value !== null && "then" in value && typeof value.then === "function";
}
