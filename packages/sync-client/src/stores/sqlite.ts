import Database from "better-sqlite3";
import { entityDefinitions, entityTypes, FieldKind, isEntityType, type EntityType } from "@repensar/contracts";
import { LocalStoreError, LocalStoreErrorCode } from "../errors";
import type { ChangeError, EntityData, LocalStore, Operation, PendingChange, ServerState } from "../local-store";
import { createStore, type StoreBackend, type StoreOptions, type StoredChange, type StoredRow } from "./engine";

/**
 * The LocalStore for Node and Electron: one SQLite file through better-sqlite3.
 *
 * - WAL: readers never block the writer, and a crash leaves the last committed transaction intact.
 * - `synchronous = FULL`: every commit is fsynced. NORMAL in WAL mode survives a process crash but
 *   may lose the last commits on power loss; the outbox is the only copy of offline work until it is
 *   pushed, and local writes come at the pace of a person typing, so durability wins over speed.
 * - Every write is one `BEGIN IMMEDIATE` transaction: the row and its outbox entry (or a pulled page
 *   and its cursor) commit together, and a second process waits for the lock instead of failing
 *   half way through.
 *
 * Entity tables are derived from the entity definitions ("same schema as server"): the entity's
 * `table`, a column per field, plus the row's sync bookkeeping. A field added to a definition is
 * added to an existing file as a column when the store opens.
 */
export function createSqliteStore(path: string, options: StoreOptions = {}): LocalStore {
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    migrate(db);
    return createStore(sqliteBackend(db), options);
  } catch (error) {
    db.close();
    throw error;
  }
}

type Db = Database.Database;

const columnType: Record<FieldKind, string> = {
  [FieldKind.Text]: "TEXT",
  [FieldKind.Integer]: "INTEGER",
  [FieldKind.Number]: "REAL",
  [FieldKind.Boolean]: "INTEGER", // 0 / 1
  [FieldKind.Date]: "TEXT", // YYYY-MM-DD
  [FieldKind.DateTime]: "TEXT", // ISO-8601
  [FieldKind.TextList]: "TEXT", // JSON array
  [FieldKind.Ref]: "TEXT",
};

/** Columns every entity table has besides the entity's own fields. */
const rowColumns = [
  ["id", "TEXT PRIMARY KEY NOT NULL"],
  ["version", "INTEGER NOT NULL DEFAULT 0"],
  ["created_at", "TEXT NOT NULL"],
  ["updated_at", "TEXT NOT NULL"],
  ["deleted_at", "TEXT"],
  // 1 while the outbox holds a change for the row
  ["_pending", "INTEGER NOT NULL DEFAULT 0"],
  // JSON ServerState: what the pending changes build on (the three-way merge's ancestor)
  ["_base", "TEXT"],
  // JSON ServerState: a newer server state a pull passed over while changes were pending
  ["_server", "TEXT"],
] as const;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

function fieldsOf(type: EntityType): [string, FieldKind][] {
  return Object.entries(entityDefinitions[type].fields).map(([name, def]) => [name, def.kind]);
}

function migrate(db: Db): void {
  db.transaction(() => {
    for (const type of entityTypes) {
      const table = entityDefinitions[type].table;
      const fields = fieldsOf(type);
      for (const [name] of fields) {
        if (rowColumns.some(([column]) => column === name)) {
          throw new TypeError(`Entity ${type} defines '${name}', a column the client keeps for itself`);
        }
      }
      const columns = [
        ...rowColumns.map(([name, decl]) => `${quote(name)} ${decl}`),
        ...fields.map(([name, kind]) => `${quote(name)} ${columnType[kind]}`),
      ];
      db.exec(`CREATE TABLE IF NOT EXISTS ${quote(table)} (${columns.join(", ")})`);
      const existing = new Set(db.prepare<[string], { name: string }>(`SELECT name FROM pragma_table_info(?)`).all(table).map((c) => c.name));
      for (const [name, kind] of fields) {
        if (!existing.has(name)) db.exec(`ALTER TABLE ${quote(table)} ADD COLUMN ${quote(name)} ${columnType[kind]}`);
      }
    }
    db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        change_id TEXT NOT NULL UNIQUE,
        entity_type TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        operation TEXT NOT NULL CHECK (operation IN ('CREATE', 'UPDATE', 'DELETE')),
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        modified_at TEXT NOT NULL,
        sent_at TEXT,
        retry_count INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
      );
      CREATE INDEX IF NOT EXISTS outbox_row ON outbox (entity_type, entity_id, seq);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
    `);
  }).immediate();
}

/**
 * The oldest entry of each row, oldest first: a push batch in one query. It walks the outbox in
 * `seq` (rowid) order, with no sort, and stops at the limit; each entry costs one probe of the
 * `outbox_row` index, so a batch costs what it returns, however long the outbox (sqlite.test.ts
 * checks the plan).
 */
export const OUTBOX_HEADS_SQL = `
    SELECT o.* FROM outbox o
    WHERE NOT EXISTS (SELECT 1 FROM outbox i WHERE i.entity_type = o.entity_type AND i.entity_id = o.entity_id AND i.seq < o.seq)
    ORDER BY o.seq LIMIT ?`;

type SqlValue = string | number | bigint | Buffer | null;
type RowRecord = Record<string, SqlValue>;

interface OutboxRecord {
  seq: number;
  change_id: string;
  entity_type: string;
  entity_id: string;
  operation: string;
  data: string;
  version: number;
  modified_at: string;
  sent_at: string | null;
  retry_count: number;
  last_error: string | null;
}

function toColumn(kind: FieldKind, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (kind === FieldKind.TextList) return JSON.stringify(value);
  if (kind === FieldKind.Boolean) return value === true ? 1 : 0;
  if (typeof value === "string" || typeof value === "number") return value;
  throw new LocalStoreError(LocalStoreErrorCode.ValidationError, `A ${kind} field cannot hold ${typeof value}`);
}

function fromColumn(kind: FieldKind, value: SqlValue | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (kind === FieldKind.TextList) return parseJson(String(value));
  if (kind === FieldKind.Boolean) return value === 1 || value === 1n;
  if (typeof value === "bigint") return Number(value);
  return value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LocalStoreError(LocalStoreErrorCode.CorruptData, "Stored JSON cannot be read", { cause: error });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseData(text: string): EntityData {
  const value = parseJson(text);
  if (!isRecord(value)) throw new LocalStoreError(LocalStoreErrorCode.CorruptData, "Stored row data is not an object");
  return value;
}

function parseState(text: SqlValue | undefined): ServerState | null {
  if (text === null || text === undefined) return null;
  const value = parseJson(String(text));
  if (!isRecord(value) || typeof value.version !== "number" || !isRecord(value.data)) {
    throw new LocalStoreError(LocalStoreErrorCode.CorruptData, "Stored server state cannot be read");
  }
  return {
    version: value.version,
    data: value.data,
    deleted_at: typeof value.deleted_at === "string" ? value.deleted_at : null,
    updated_at: typeof value.updated_at === "string" ? value.updated_at : null,
  };
}

function parseError(text: string | null): ChangeError | null {
  if (text === null) return null;
  const value = parseJson(text);
  if (!isRecord(value)) return null;
  return { code: String(value.code), detail: String(value.detail) };
}

const operations: readonly string[] = ["CREATE", "UPDATE", "DELETE"];
const isOperation = (value: string): value is Operation => operations.includes(value);

function toChange(record: OutboxRecord): StoredChange {
  const entityType = record.entity_type;
  if (!isEntityType(entityType) || !isOperation(record.operation)) {
    throw new LocalStoreError(LocalStoreErrorCode.CorruptData, `Outbox entry ${record.change_id} cannot be read`);
  }
  return {
    seq: record.seq,
    change_id: record.change_id,
    entity_type: entityType,
    entity_id: record.entity_id,
    operation: record.operation,
    data: parseData(record.data),
    version: record.version,
    modified_at: record.modified_at,
    sent_at: record.sent_at,
    retry_count: record.retry_count,
    last_error: parseError(record.last_error),
  };
}

function changeParams(change: PendingChange) {
  return {
    change_id: change.change_id,
    entity_type: change.entity_type,
    entity_id: change.entity_id,
    operation: change.operation,
    data: JSON.stringify(change.data),
    version: change.version,
    modified_at: change.modified_at,
    sent_at: change.sent_at,
    retry_count: change.retry_count,
    last_error: change.last_error && JSON.stringify(change.last_error),
  };
}

function entityStatements(db: Db, type: EntityType) {
  const table = quote(entityDefinitions[type].table);
  const fields = fieldsOf(type);
  const names = [...rowColumns.map(([name]) => name), ...fields.map(([name]) => name)];
  const upsert = db.prepare<[RowRecord], void>(
    `INSERT OR REPLACE INTO ${table} (${names.map(quote).join(", ")}) VALUES (${names.map((n) => `@${n}`).join(", ")})`,
  );
  const select = db.prepare<[string], RowRecord>(`SELECT * FROM ${table} WHERE id = ?`);
  const selectAll = db.prepare<[], RowRecord>(`SELECT * FROM ${table} ORDER BY id`);
  const remove = db.prepare<[string], void>(`DELETE FROM ${table} WHERE id = ?`);

  function toRecord(row: StoredRow): RowRecord {
    const record: RowRecord = {
      id: row.id,
      version: row.version,
      created_at: row.created_at,
      updated_at: row.updated_at,
      deleted_at: row.deleted_at,
      _pending: row.pending ? 1 : 0,
      _base: row.base && JSON.stringify(row.base),
      _server: row.server && JSON.stringify(row.server),
    };
    for (const [name, kind] of fields) record[name] = toColumn(kind, row.data[name]);
    return record;
  }

  function fromRecord(record: RowRecord): StoredRow {
    const data: EntityData = {};
    for (const [name, kind] of fields) data[name] = fromColumn(kind, record[name]);
    return {
      id: String(record.id),
      data,
      version: Number(record.version),
      created_at: String(record.created_at),
      updated_at: String(record.updated_at),
      deleted_at: record.deleted_at == null ? null : String(record.deleted_at),
      pending: Number(record._pending) === 1,
      base: parseState(record._base),
      server: parseState(record._server),
    };
  }

  return {
    get: (id: string) => {
      const record = select.get(id);
      return record ? fromRecord(record) : null;
    },
    list: () => selectAll.all().map(fromRecord),
    put: (row: StoredRow) => upsert.run(toRecord(row)),
    remove: (id: string) => remove.run(id),
  };
}

function sqliteBackend(db: Db): StoreBackend {
  const tables = new Map(entityTypes.map((type) => [type, entityStatements(db, type)] as const));
  const tableOf = (type: EntityType) => {
    const statements = tables.get(type);
    if (!statements) throw new LocalStoreError(LocalStoreErrorCode.UnknownEntityType, `Unknown entity type '${type}'`);
    return statements;
  };

  const changeById = db.prepare<[string], OutboxRecord>(`SELECT * FROM outbox WHERE change_id = ?`);
  const changesForRow = db.prepare<[string, string], OutboxRecord>(
    `SELECT * FROM outbox WHERE entity_type = ? AND entity_id = ? ORDER BY seq`,
  );
  const heads = db.prepare<[number], OutboxRecord>(OUTBOX_HEADS_SQL);
  const count = db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM outbox`);
  const insertChange = db.prepare<[ReturnType<typeof changeParams>], void>(`
    INSERT INTO outbox (change_id, entity_type, entity_id, operation, data, version, modified_at, sent_at, retry_count, last_error)
    VALUES (@change_id, @entity_type, @entity_id, @operation, @data, @version, @modified_at, @sent_at, @retry_count, @last_error)`);
  const updateChange = db.prepare<[ReturnType<typeof changeParams>], void>(`
    UPDATE outbox SET entity_type = @entity_type, entity_id = @entity_id, operation = @operation, data = @data,
      version = @version, modified_at = @modified_at, sent_at = @sent_at, retry_count = @retry_count, last_error = @last_error
    WHERE change_id = @change_id`);
  const deleteChange = db.prepare<[string], void>(`DELETE FROM outbox WHERE change_id = ?`);
  const markSent = db.prepare<[string, string], void>(`UPDATE outbox SET sent_at = COALESCE(sent_at, ?) WHERE change_id = ?`);
  const metaGet = db.prepare<[string], { value: string }>(`SELECT value FROM meta WHERE key = ?`);
  const metaSet = db.prepare<[string, string], void>(
    `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  );
  const metaDelete = db.prepare<[string], void>(`DELETE FROM meta WHERE key = ?`);
  // Nested calls become savepoints (better-sqlite3 checks db.inTransaction on each call).
  const inTransaction = db.transaction((body: () => void) => body());

  return {
    transaction<T>(fn: () => T): T {
      // One transaction function for every call: db.transaction() builds four wrappers each
      // time, which cost as much as a small write when a bulk write nests one per row.
      const box: { value: T }[] = [];
      inTransaction.immediate(() => void box.push({ value: fn() }));
      const [done] = box;
      if (!done) throw new TypeError("The transaction ran without running its body");
      return done.value;
    },
    getRow: (type, id) => tableOf(type).get(id),
    listRows: (type) => tableOf(type).list(),
    putRow: (type, row) => void tableOf(type).put(row),
    removeRow: (type, id) => void tableOf(type).remove(id),
    getChange: (changeId) => {
      const record = changeById.get(changeId);
      return record ? toChange(record) : null;
    },
    changesFor: (type, id) => changesForRow.all(type, id).map(toChange),
    headChanges: (limit) => heads.all(limit).map(toChange),
    countChanges: () => count.get()?.n ?? 0,
    appendChange: (change) => void insertChange.run(changeParams(change)),
    replaceChange: (change) => void updateChange.run(changeParams(change)),
    removeChange: (changeId) => void deleteChange.run(changeId),
    markChangeSent: (changeId, at) => markSent.run(at, changeId).changes === 1,
    getMeta: (key) => metaGet.get(key)?.value ?? null,
    setMeta: (key, value) => void (value === null ? metaDelete.run(key) : metaSet.run(key, value)),
    close: () => db.close(),
  };
}
