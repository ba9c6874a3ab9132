import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { sql, type SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { migrationStatements } from "./migrations";
import { migrations } from "./migrations.gen";
import * as schema from "./schema";

export type Schema = typeof schema;
/** A drizzle database over either driver; transactions (`db.transaction`) give the same type. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
/** What a query runs on: the database itself or a transaction. */
export type Executor = Pick<Database, "execute" | "select" | "insert" | "update" | "delete">;

export type DriverName = "pglite" | "postgres";

export interface DatabaseOptions {
  /** `postgres://…`: PostgreSQL through postgres.js. Absent: embedded PGlite in `dataDir`. */
  url?: string | undefined;
  /** Where PGlite keeps its files; `memory://` keeps them in memory. Default `.data/pglite`. */
  dataDir?: string | undefined;
  /** postgres.js pool size. */
  poolSize?: number | undefined;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean | undefined;
}

export interface DatabaseHandle {
  db: Database;
  driver: DriverName;
  /** The database's identity: sync tokens from another epoch are refused. */
  epoch: string;
  /** Raw SQL returning plain rows, the same shape on both drivers. */
  rows<T extends Record<string, unknown>>(query: SQL, on?: Executor): Promise<T[]>;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Rows of a raw `execute` result: postgres.js answers an array, PGlite `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  if (result !== null && typeof result === "object" && "rows" in result && Array.isArray(result.rows)) {
    return result.rows as T[];
  }
  return [];
}

export async function createDatabase(options: DatabaseOptions = {}): Promise<DatabaseHandle> {
  const { db, driver, end } = options.url ? openPostgres(options.url, options.poolSize ?? 10) : await openPglite(options.dataDir);
  const rows = async <T extends Record<string, unknown>>(query: SQL, on: Executor = db): Promise<T[]> =>
    rowsOf<T>(await on.execute(query));
  try {
    if (options.migrate ?? true) await migrate(db);
    const epoch = await readEpoch(db);
    return {
      db,
      driver,
      epoch,
      rows,
      ping: async () => {
        await db.execute(sql`select 1`);
      },
      close: end,
    };
  } catch (error) {
    await end();
    throw error;
  }
}

function openPostgres(url: string, max: number) {
  const client = postgres(url, { max, onnotice: () => {}, connection: { application_name: "repensar-sync" } });
  const db: Database = drizzlePostgres({ client, schema });
  return { db, driver: "postgres" as const, end: () => client.end({ timeout: 5 }) };
}

async function openPglite(dataDir = ".data/pglite") {
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  const client = await PGlite.create(dataDir);
  const db: Database = drizzlePglite({ client, schema });
  return {
    db,
    driver: "pglite" as const,
    end: async () => {
      if (!client.closed) await client.close();
    },
  };
}

/**
 * Applies the embedded migrations not yet applied, under an advisory lock so instances
 * starting together do not race. Bookkeeping matches drizzle-kit's own migrator
 * (`drizzle.__drizzle_migrations`), so either can take over.
 */
export async function migrate(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('repensar.migrate'))`);
    await tx.execute(sql`create schema if not exists drizzle`);
    await tx.execute(
      sql`create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`,
    );
    const [last] = rowsOf<{ created_at: string | number | null }>(
      await tx.execute(sql`select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`),
    );
    const appliedUntil = Number(last?.created_at ?? 0);
    for (const migration of migrations) {
      if (migration.when <= appliedUntil) continue;
      for (const statement of migrationStatements(migration)) await tx.execute(sql.raw(statement));
      await tx.execute(
        sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${migration.hash}, ${migration.when})`,
      );
    }
    await tx.execute(sql`insert into server_meta (id) values (1) on conflict (id) do nothing`);
  });
}

async function readEpoch(db: Database): Promise<string> {
  const [row] = rowsOf<{ epoch: string }>(await db.execute(sql`select epoch::text as epoch from server_meta where id = 1`));
  if (!row) throw new Error("server_meta has no row: migrations did not run");
  return row.epoch;
}
