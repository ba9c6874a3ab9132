import { entityTypes } from "@repensar/contracts";
import { sql } from "drizzle-orm";
import type { ServerContext } from "../context";
import { entitySql } from "./entity-store";

const DAY_MS = 86_400_000;
/**
 * Tokens older than the retention are refused (410); tombstones are kept one day longer, so a
 * token just inside the retention never points past a tombstone that is already gone.
 */
const GRACE_DAYS = 1;

export interface PurgeReport {
  /** Tombstones removed, per entity type. */
  tombstones: Record<string, number>;
  /** Idempotency records removed. */
  processedChanges: number;
}

/** Deletes tombstones and idempotency records older than the retention (`TOMBSTONE_RETENTION_DAYS`). */
export async function purgeTombstones(ctx: ServerContext): Promise<PurgeReport> {
  const cutoff = new Date(ctx.now().getTime() - (ctx.config.tombstoneRetentionDays + GRACE_DAYS) * DAY_MS).toISOString();
  const tombstones: Record<string, number> = {};
  for (const type of entityTypes) {
    const [row] = await ctx.database.rows<{ n: number }>(
      sql`with gone as (delete from ${entitySql(type).table} where deleted_at is not null and deleted_at < ${cutoff}::timestamptz returning 1)
          select count(*)::int as n from gone`,
    );
    tombstones[type] = Number(row?.n ?? 0);
  }
  const [processed] = await ctx.database.rows<{ n: number }>(
    sql`with gone as (delete from processed_changes where created_at < ${cutoff}::timestamptz returning 1)
        select count(*)::int as n from gone`,
  );
  return { tombstones, processedChanges: Number(processed?.n ?? 0) };
}
