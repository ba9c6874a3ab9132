import type { Database, PreparedStatement } from "@sqlite.org/sqlite-wasm";
import type { SqlDriver, SqlRecord, SqlStatement, SqlValue } from "../stores/sql";

type WasmRecord = ReturnType<PreparedStatement["get"]> & Record<string, unknown>;

/** Blobs come back as the views SQLite WASM chooses; the store sees Uint8Array only. */
function record(row: WasmRecord): SqlRecord {
  const out: SqlRecord = {};
  for (const [name, value] of Object.entries(row)) {
    out[name] =
      value instanceof ArrayBuffer ? new Uint8Array(value) : ArrayBuffer.isView(value) ? new Uint8Array(value.buffer) : (value as SqlValue);
  }
  return out;
}

/**
 * `sql.ts`'s driver over SQLite compiled to WebAssembly (the oo1 API). Synchronous, as the engine
 * needs: with the `opfs-sahpool` VFS every read and write is a synchronous access-handle call,
 * which browsers allow in dedicated workers only, so this runs in one.
 */
export function wasmSqliteDriver(db: Database): SqlDriver {
  const statements: PreparedStatement[] = [];
  let depth = 0;

  function bound(statement: PreparedStatement, params: readonly SqlValue[]): PreparedStatement {
    statement.reset(true);
    if (params.length > 0) statement.bind([...params]);
    return statement;
  }

  function rows(statement: PreparedStatement, params: readonly SqlValue[], limit: number): SqlRecord[] {
    const out: SqlRecord[] = [];
    try {
      bound(statement, params);
      while (out.length < limit && statement.step()) out.push(record(statement.get({})));
    } finally {
      statement.reset();
    }
    return out;
  }

  return {
    exec: (sql) => void db.exec(sql),
    prepare(sql): SqlStatement {
      const statement = db.prepare(sql);
      statements.push(statement);
      return {
        run(params = []) {
          try {
            bound(statement, params).step();
          } finally {
            statement.reset();
          }
          return db.changes();
        },
        get: (params = []) => rows(statement, params, 1)[0],
        all: (params = []) => rows(statement, params, Number.POSITIVE_INFINITY),
      };
    },
    transaction<T>(fn: () => T): T {
      // The outermost call is the transaction; nested ones are savepoints, so a write that fails
      // inside a bigger one undoes only itself (as better-sqlite3's nested transactions do).
      const savepoint = `s${depth}`;
      db.exec(depth === 0 ? "BEGIN IMMEDIATE" : `SAVEPOINT ${savepoint}`);
      depth += 1;
      try {
        const result = fn();
        depth -= 1;
        db.exec(depth === 0 ? "COMMIT" : `RELEASE ${savepoint}`);
        return result;
      } catch (error) {
        depth -= 1;
        db.exec(depth === 0 ? "ROLLBACK" : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
        throw error;
      }
    },
    close() {
      for (const statement of statements.splice(0)) statement.finalize();
      db.close();
    },
  };
}
