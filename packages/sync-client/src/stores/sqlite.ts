import Database from "better-sqlite3";
import type { LocalStore } from "../local-store";
import { createStore, type StoreOptions } from "./engine";
import { createSqlBackend, migrateSql, type SqlDriver, type SqlRecord, type SqlValue } from "./sql";

export { OUTBOX_HEADS_SQL } from "./sql";

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
 * The schema and statements are `sql.ts`'s, shared with the browser store.
 */
export function createSqliteStore(path: string, options: StoreOptions = {}): LocalStore {
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    const driver = betterSqliteDriver(db);
    migrateSql(driver);
    return createStore(createSqlBackend(driver), options);
  } catch (error) {
    db.close();
    throw error;
  }
}

type BindValue = string | number | bigint | Buffer | null;

const bindable = (params: readonly SqlValue[]): BindValue[] =>
  params.map((value) => (value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value));

function betterSqliteDriver(db: Database.Database): SqlDriver {
  // Nested calls become savepoints (better-sqlite3 checks db.inTransaction on each call).
  const inTransaction = db.transaction((body: () => void) => body());
  return {
    exec: (sql) => void db.exec(sql),
    prepare(sql) {
      const statement = db.prepare<BindValue[], SqlRecord>(sql);
      const returnsRows = statement.reader;
      return {
        run: (params = []) => statement.run(...bindable(params)).changes,
        get: (params = []) => (returnsRows ? statement.get(...bindable(params)) : undefined),
        all: (params = []) => (returnsRows ? statement.all(...bindable(params)) : []),
      };
    },
    transaction<T>(fn: () => T): T {
      // One transaction function for every call: db.transaction() builds four wrappers each
      // time, which cost as much as a small write when a bulk write nests one per row.
      const box: { value: T }[] = [];
      inTransaction.immediate(() => void box.push({ value: fn() }));
      const [done] = box;
      if (!done) throw new TypeError("The transaction ran without running its body");
      return done.value;
    },
    close: () => db.close(),
  };
}
