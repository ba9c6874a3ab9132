import type { EntityType } from "@repensar/contracts";
import type { LocalStore, PendingChange } from "../local-store";
import { createStore, type StoreBackend, type StoreOptions, type StoredChange, type StoredRow } from "./engine";

/**
 * A LocalStore in process memory: for tests, and for apps that sync a session's worth of data
 * without keeping it. Transactions keep an undo log, so a failed write leaves nothing behind,
 * exactly as a rolled-back SQLite transaction would.
 */
export function createMemoryStore(options: StoreOptions = {}): LocalStore {
  return createStore(memoryBackend(), options);
}

function memoryBackend(): StoreBackend {
  const rows = new Map<EntityType, Map<string, StoredRow>>();
  const changes = new Map<string, StoredChange>();
  const meta = new Map<string, string>();
  let seq = 0;
  let undo: (() => void)[] | null = null;

  function table(type: EntityType): Map<string, StoredRow> {
    let t = rows.get(type);
    if (!t) {
      t = new Map();
      rows.set(type, t);
    }
    return t;
  }

  /** Sets or deletes `key` in `map`, remembering how to put it back. */
  function write<K, V>(map: Map<K, V>, key: K, value: V | undefined): void {
    if (undo) {
      const had = map.has(key);
      const previous = map.get(key);
      undo.push(() => {
        if (had && previous !== undefined) map.set(key, previous);
        else map.delete(key);
      });
    }
    if (value === undefined) map.delete(key);
    else map.set(key, value);
  }

  // Values are copied in and out so callers can never change what is stored behind its back.
  const copy = <T>(value: T): T => structuredClone(value);

  const sorted = (list: StoredChange[]) => list.sort((a, b) => a.seq - b.seq);

  return {
    transaction(fn) {
      // Nested calls behave as SQLite's savepoints: a nested one that throws undoes only its own
      // writes, and the outer transaction goes on if its caller catches the error.
      const outer = undo;
      const log = outer ?? [];
      const mark = log.length;
      undo = log;
      try {
        const result = fn();
        undo = outer;
        return result;
      } catch (error) {
        for (let i = log.length - 1; i >= mark; i--) log[i]?.();
        log.length = mark;
        undo = outer;
        throw error;
      }
    },
    getRow: (type, id) => {
      const row = table(type).get(id);
      return row ? copy(row) : null;
    },
    listRows: (type) =>
      [...table(type).values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(copy),
    putRow: (type, row) => write(table(type), row.id, copy(row)),
    removeRow: (type, id) => write(table(type), id, undefined),
    getChange: (changeId) => {
      const change = changes.get(changeId);
      return change ? copy(change) : null;
    },
    changesFor: (type, id) =>
      sorted([...changes.values()].filter((c) => c.entity_type === type && c.entity_id === id)).map(copy),
    headChanges(limit) {
      const seen = new Set<string>();
      const heads: StoredChange[] = [];
      for (const change of sorted([...changes.values()])) {
        const key = `${change.entity_type}\u0000${change.entity_id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (change.refused_at !== null) continue;
        heads.push(copy(change));
        if (heads.length >= limit) break;
      }
      return heads;
    },
    refusedChanges: () => sorted([...changes.values()].filter((c) => c.refused_at !== null)).map(copy),
    countChanges: () => changes.size,
    appendChange(change: PendingChange) {
      const previousSeq = seq;
      if (undo) undo.push(() => (seq = previousSeq));
      seq += 1;
      write(changes, change.change_id, copy({ ...change, seq }));
    },
    replaceChange: (change) => write(changes, change.change_id, copy(change)),
    markChangeSent(changeId, at) {
      const change = changes.get(changeId);
      if (!change) return false;
      if (change.sent_at === null) write(changes, changeId, { ...change, sent_at: at });
      return true;
    },
    removeChange: (changeId) => write(changes, changeId, undefined),
    getMeta: (key) => meta.get(key) ?? null,
    setMeta: (key, value) => write(meta, key, value ?? undefined),
    close() {
      rows.clear();
      changes.clear();
      meta.clear();
    },
  };
}
