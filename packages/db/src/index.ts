export { createDatabase, migrate, rowsOf } from "./client";
export type { Database, DatabaseHandle, DatabaseOptions, DriverName, Executor, Schema } from "./client";
export * as schema from "./schema";
export { isDatabaseUnavailable } from "./unavailable";
