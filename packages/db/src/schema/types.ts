import { customType } from "drizzle-orm/pg-core";

/**
 * `xid8`: the 64-bit transaction id PostgreSQL stamps a row's writer with
 * (`pg_current_xact_id()`). The pull cursor reads only rows whose writer is below the
 * snapshot's xmin, i.e. finished, so a transaction that commits late is never skipped.
 * Carried as a decimal string: it exceeds 2^53.
 */
export const xid8 = customType<{ data: string; driverData: string }>({
  dataType: () => "xid8",
});
