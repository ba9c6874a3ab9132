import { createDatabase, type DatabaseHandle } from "./client";

/**
 * A migrated database for a test: PostgreSQL when DATABASE_URL is set (the pg test project
 * gives each test file a database of its own), otherwise an in-memory PGlite.
 */
export function openTestDatabase(): Promise<DatabaseHandle> {
  const url = process.env.DATABASE_URL;
  return url ? createDatabase({ url, poolSize: 20 }) : createDatabase({ dataDir: "memory://" });
}
