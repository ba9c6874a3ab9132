import { sql } from "drizzle-orm";
import { createDatabase, type DatabaseHandle } from "./client";
import { checksAddedNotValid } from "./not-valid";

/**
 * A migrated database for a test: PostgreSQL when DATABASE_URL is set (the pg test project
 * gives each test file a database of its own), otherwise an in-memory PGlite.
 */
export function openTestDatabase(): Promise<DatabaseHandle> {
  const url = process.env.DATABASE_URL;
  return url ? createDatabase({ url, poolSize: 20 }) : createDatabase({ dataDir: "memory://" });
}

/**
 * The statements `db:generate` would write to take a database from the tables of `from` to those of
 * `to` (drizzle schema modules, e.g. built under two definition sets), CHECKs added NOT VALID as the
 * generator adds them. For tests that upgrade a database the way a release does.
 */
export async function migrationBetween(from: Record<string, unknown>, to: Record<string, unknown>): Promise<string[]> {
  // drizzle-kit is a development dependency: loaded only when a test asks.
  const { generateDrizzleJson, generateMigration } = await import("drizzle-kit/api");
  const before = generateDrizzleJson(from);
  const statements = await generateMigration(before, generateDrizzleJson(to, before.id));
  return statements.map(checksAddedNotValid);
}

/** Runs a migration's statements on `handle` in one transaction, as `migrate` runs a committed one. */
export async function applyStatements(handle: DatabaseHandle, statements: readonly string[]): Promise<void> {
  await handle.db.transaction(async (tx) => {
    for (const statement of statements) await tx.execute(sql.raw(statement));
  });
}
