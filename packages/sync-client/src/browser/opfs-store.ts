import sqlite3InitModule, { type SAHPoolUtil, type Sqlite3Static } from "@sqlite.org/sqlite-wasm";
import type { LocalStore } from "../local-store";
import { createStore, type StoreOptions } from "../stores/engine";
import { createSqlBackend, migrateSql } from "../stores/sql";
import { wasmSqliteDriver } from "./wasm-driver";

/**
 * The LocalStore for browsers: SQLite compiled to WebAssembly, its file in the Origin Private File
 * System through the `opfs-sahpool` VFS, running the same engine and SQL as the Node store.
 *
 * Only in a dedicated worker: the VFS reads and writes through synchronous access handles, which
 * browsers hand to dedicated workers only, and that is what lets the engine's primitives stay
 * synchronous. The handles are exclusive, so one worker per origin owns the pool at a time (see
 * `store-worker.ts`, which elects it with a Web Lock).
 *
 * No WAL (the VFS has no shared memory); the rollback journal lives in the pool beside the file.
 * `synchronous = FULL` flushes the handles on every commit, as the Node store fsyncs.
 */
export interface OpfsStoreOptions extends StoreOptions {
  /** The database file in the pool. Default `/repensar.db`. */
  readonly file?: string;
  /** The OPFS directory the pool keeps its files in. Default: the VFS's own. */
  readonly directory?: string;
}

let sqlite: Promise<Sqlite3Static> | null = null;
const pools = new Map<string, Promise<SAHPoolUtil>>();

function loadSqlite(): Promise<Sqlite3Static> {
  sqlite ??= sqlite3InitModule();
  return sqlite;
}

/** The pool for `directory`, installed once per worker. Retries while another worker still lets go of its handles. */
export function opfsPool(directory?: string): Promise<SAHPoolUtil> {
  const key = directory ?? "";
  let pool = pools.get(key);
  if (!pool) {
    pool = installPool(directory);
    pools.set(key, pool);
    pool.catch(() => pools.delete(key));
  }
  return pool;
}

async function installPool(directory: string | undefined): Promise<SAHPoolUtil> {
  const sqlite3 = await loadSqlite();
  const options = {
    ...(directory === undefined ? {} : { directory, name: `opfs-sahpool-${directory.replaceAll(/[^a-z0-9]/gi, "")}` }),
    initialCapacity: 6,
    preserveOnInitFailure: true,
    forceReinitIfPreviouslyFailed: true,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await sqlite3.installOpfsSAHPoolVfs(options);
    } catch (error) {
      // A tab that just closed may hold the access handles for a moment longer.
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

export async function openOpfsStore(options: OpfsStoreOptions = {}): Promise<LocalStore> {
  const pool = await opfsPool(options.directory);
  const db = new pool.OpfsSAHPoolDb(options.file ?? "/repensar.db");
  try {
    db.exec("PRAGMA journal_mode = TRUNCATE; PRAGMA synchronous = FULL;");
    const driver = wasmSqliteDriver(db);
    migrateSql(driver);
    return createStore(createSqlBackend(driver), options);
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Removes a closed database file and its journal from the pool (its data is gone for good). */
export async function deleteOpfsFile(file: string, directory?: string): Promise<boolean> {
  const pool = await opfsPool(directory);
  // TRUNCATE keeps the journal file between transactions: it holds a pool slot of its own.
  pool.unlink(`${file}-journal`);
  return pool.unlink(file);
}
