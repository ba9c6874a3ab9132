import { entityDefinitions, entityTypes, FieldKind, isEntityType, type EntityType } from "@repensar/contracts";
import { LocalStoreError, LocalStoreErrorCode } from "../errors";
import type { ChangeError, EntityData, Operation, PendingChange, ServerState } from "../local-store";
import type { StoreBackend, StoredChange, StoredRow } from "./engine";

/**
 * The SQLite schema and statements of a LocalStore, over a small synchronous driver, so that
 * better-sqlite3 on Node and SQLite compiled to WebAssembly in a browser worker run the same SQL.
 *
 * Entity tables are derived from the entity definitions ("same schema as server"): the entity's
 * `table`, a column per field, plus the row's sync bookkeeping. A field added to a definition is
 * added to an existing file as a column when the store opens.
 */

export type SqlValue = string | number | bigint | Uint8Array | null;
export type SqlRecord = Record<string, SqlValue>;

/** A prepared statement with positional (`?`) parameters. */
export interface SqlStatement {
  /** Runs the statement; returns the number of rows it changed. */
  run(params?: readonly SqlValue[]): number;
  get(params?: readonly SqlValue[]): SqlRecord | undefined;
  all(params?: readonly SqlValue[]): SqlRecord[];
}

/** What a SQLite binding must offer for a LocalStore. */
export interface SqlDriver {
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  /** Runs `fn` in a write transaction (`BEGIN IMMEDIATE`); a nested call is a savepoint. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

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

/** Creates the tables a store needs, and adds columns for fields an existing file does not have yet. */
export function migrateSql(db: SqlDriver): void {
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
      const existing = new Set(db.prepare(`SELECT name FROM pragma_table_info(?)`).all([table]).map((c) => String(c.name)));
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
        last_error TEXT,
        refused_at TEXT
      );
      CREATE INDEX IF NOT EXISTS outbox_row ON outbox (entity_type, entity_id, seq);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
    `);
    // Files made before refused changes were kept.
    const outboxColumns = new Set(db.prepare(`SELECT name FROM pragma_table_info('outbox')`).all().map((c) => String(c.name)));
    if (!outboxColumns.has("refused_at")) db.exec(`ALTER TABLE outbox ADD COLUMN refused_at TEXT`);
  });
}

/**
 * The oldest entry of each row, oldest first, unless it is refused: a push batch in one query. It walks the outbox in
 * `seq` (rowid) order, with no sort, and stops at the limit; each entry costs one probe of the
 * `outbox_row` index, so a batch costs what it returns, however long the outbox (sqlite.test.ts
 * checks the plan).
 */
export const OUTBOX_HEADS_SQL = `
    SELECT o.* FROM outbox o
    WHERE o.refused_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM outbox i WHERE i.entity_type = o.entity_type AND i.entity_id = o.entity_id AND i.seq < o.seq)
    ORDER BY o.seq LIMIT ?`;

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

function parseError(text: SqlValue | undefined): ChangeError | null {
  if (text === null || text === undefined) return null;
  const value = parseJson(String(text));
  if (!isRecord(value)) return null;
  return { code: String(value.code), detail: String(value.detail) };
}

const operations: readonly string[] = ["CREATE", "UPDATE", "DELETE"];
const isOperation = (value: string): value is Operation => operations.includes(value);

const nullableText = (value: SqlValue | undefined): string | null => (value === null || value === undefined ? null : String(value));

function toChange(record: SqlRecord): StoredChange {
  const entityType = String(record.entity_type);
  const operation = String(record.operation);
  if (!isEntityType(entityType) || !isOperation(operation)) {
    throw new LocalStoreError(LocalStoreErrorCode.CorruptData, `Outbox entry ${String(record.change_id)} cannot be read`);
  }
  return {
    seq: Number(record.seq),
    change_id: String(record.change_id),
    entity_type: entityType,
    entity_id: String(record.entity_id),
    operation,
    data: parseData(String(record.data)),
    version: Number(record.version),
    modified_at: String(record.modified_at),
    sent_at: nullableText(record.sent_at),
    retry_count: Number(record.retry_count),
    last_error: parseError(record.last_error),
    refused_at: nullableText(record.refused_at),
  };
}

/** The outbox columns after `change_id`, in the order the statements below name them. */
function changeValues(change: PendingChange): SqlValue[] {
  return [
    change.entity_type,
    change.entity_id,
    change.operation,
    JSON.stringify(change.data),
    change.version,
    change.modified_at,
    change.sent_at,
    change.retry_count,
    change.last_error && JSON.stringify(change.last_error),
    change.refused_at,
  ];
}

function entityStatements(db: SqlDriver, type: EntityType) {
  const table = quote(entityDefinitions[type].table);
  const fields = fieldsOf(type);
  const names = [...rowColumns.map(([name]) => name), ...fields.map(([name]) => name)];
  const upsert = db.prepare(`INSERT OR REPLACE INTO ${table} (${names.map(quote).join(", ")}) VALUES (${names.map(() => "?").join(", ")})`);
  const select = db.prepare(`SELECT * FROM ${table} WHERE id = ?`);
  const selectAll = db.prepare(`SELECT * FROM ${table} ORDER BY id`);
  const remove = db.prepare(`DELETE FROM ${table} WHERE id = ?`);

  function toValues(row: StoredRow): SqlValue[] {
    const values: SqlValue[] = [
      row.id,
      row.version,
      row.created_at,
      row.updated_at,
      row.deleted_at,
      row.pending ? 1 : 0,
      row.base && JSON.stringify(row.base),
      row.server && JSON.stringify(row.server),
    ];
    for (const [name, kind] of fields) values.push(toColumn(kind, row.data[name]));
    return values;
  }

  function fromRecord(record: SqlRecord): StoredRow {
    const data: EntityData = {};
    for (const [name, kind] of fields) data[name] = fromColumn(kind, record[name]);
    return {
      id: String(record.id),
      data,
      version: Number(record.version),
      created_at: String(record.created_at),
      updated_at: String(record.updated_at),
      deleted_at: nullableText(record.deleted_at),
      pending: Number(record._pending) === 1,
      base: parseState(record._base),
      server: parseState(record._server),
    };
  }

  return {
    get: (id: string) => {
      const record = select.get([id]);
      return record ? fromRecord(record) : null;
    },
    list: () => selectAll.all().map(fromRecord),
    put: (row: StoredRow) => upsert.run(toValues(row)),
    remove: (id: string) => remove.run([id]),
  };
}

/** The engine's primitives as SQL statements, prepared once. */
export function createSqlBackend(db: SqlDriver): StoreBackend {
  const tables = new Map(entityTypes.map((type) => [type, entityStatements(db, type)] as const));
  const tableOf = (type: EntityType) => {
    const statements = tables.get(type);
    if (!statements) throw new LocalStoreError(LocalStoreErrorCode.UnknownEntityType, `Unknown entity type '${type}'`);
    return statements;
  };

  const changeById = db.prepare(`SELECT * FROM outbox WHERE change_id = ?`);
  const changesForRow = db.prepare(`SELECT * FROM outbox WHERE entity_type = ? AND entity_id = ? ORDER BY seq`);
  const heads = db.prepare(OUTBOX_HEADS_SQL);
  const count = db.prepare(`SELECT COUNT(*) AS n FROM outbox`);
  const refused = db.prepare(`SELECT * FROM outbox WHERE refused_at IS NOT NULL ORDER BY seq`);
  const insertChange = db.prepare(`
    INSERT INTO outbox (change_id, entity_type, entity_id, operation, data, version, modified_at, sent_at, retry_count, last_error, refused_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const updateChange = db.prepare(`
    UPDATE outbox SET entity_type = ?, entity_id = ?, operation = ?, data = ?,
      version = ?, modified_at = ?, sent_at = ?, retry_count = ?, last_error = ?,
      refused_at = ?
    WHERE change_id = ?`);
  const deleteChange = db.prepare(`DELETE FROM outbox WHERE change_id = ?`);
  const markSent = db.prepare(`UPDATE outbox SET sent_at = COALESCE(sent_at, ?) WHERE change_id = ?`);
  const metaGet = db.prepare(`SELECT value FROM meta WHERE key = ?`);
  const metaSet = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  const metaDelete = db.prepare(`DELETE FROM meta WHERE key = ?`);

  return {
    transaction: (fn) => db.transaction(fn),
    getRow: (type, id) => tableOf(type).get(id),
    listRows: (type) => tableOf(type).list(),
    putRow: (type, row) => void tableOf(type).put(row),
    removeRow: (type, id) => void tableOf(type).remove(id),
    getChange: (changeId) => {
      const record = changeById.get([changeId]);
      return record ? toChange(record) : null;
    },
    changesFor: (type, id) => changesForRow.all([type, id]).map(toChange),
    headChanges: (limit) => heads.all([limit]).map(toChange),
    refusedChanges: () => refused.all().map(toChange),
    countChanges: () => Number(count.get()?.n ?? 0),
    appendChange: (change) => void insertChange.run([change.change_id, ...changeValues(change)]),
    replaceChange: (change) => void updateChange.run([...changeValues(change), change.change_id]),
    removeChange: (changeId) => void deleteChange.run([changeId]),
    markChangeSent: (changeId, at) => markSent.run([at, changeId]) === 1,
    getMeta: (key) => nullableText(metaGet.get([key])?.value),
    setMeta: (key, value) => void (value === null ? metaDelete.run([key]) : metaSet.run([key, value])),
    close: () => db.close(),
  };
}
