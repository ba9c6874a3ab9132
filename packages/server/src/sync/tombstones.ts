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
  /** Row versions removed from the history. */
  history: number;
}

/** Deletes tombstones, idempotency records and row history older than the retention (`TOMBSTONE_RETENTION_DAYS`). */
export async function purgeTombstones(ctx: ServerContext): Promise<PurgeReport> {
  const cutoff = new Date(ctx.now().getTime() - (ctx.config.tombstoneRetentionDays + GRACE_DAYS) * DAY_MS).toISOString();
  const tombstones: Record<string, number> = {};
  let purgedVersions = 0;
  for (const type of entityTypes) {
    // A purged row's versions go with it, however young: an id made again later starts a history of
    // its own (a restored tombstone keeps its first deletion time, so its versions can be younger).
    const [row] = await ctx.database.rows<{ n: number; versions: number }>(
      sql`with gone as (delete from ${entitySql(type).table} where deleted_at is not null and deleted_at < ${cutoff}::timestamptz returning org_id, id),
               versions as (
                 delete from entity_history h using gone g
                 where h.org_id = g.org_id and h.entity_type = ${type} and h.entity_id = g.id
                 returning 1)
          select (select count(*)::int from gone) as n, (select count(*)::int from versions) as versions`,
    );
    tombstones[type] = Number(row?.n ?? 0);
    purgedVersions += Number(row?.versions ?? 0);
  }
  const [processed] = await ctx.database.rows<{ n: number }>(
    sql`with gone as (delete from processed_changes where created_at < ${cutoff}::timestamptz returning 1)
        select count(*)::int as n from gone`,
  );
  // A version is kept while a device may still hold it as its base: until the version after it is
  // older than the retention (a device that saw it has a token older than that), and, for a row
  // whose tombstone is gone, until it is older than the retention itself.
  const [superseded] = await ctx.database.rows<{ n: number }>(
    sql`with gone as (
          delete from entity_history h using entity_history n
          where n.org_id = h.org_id and n.entity_type = h.entity_type and n.entity_id = h.entity_id
            and n.version > h.version and n.created_at < ${cutoff}::timestamptz
          returning 1)
        select count(*)::int as n from gone`,
  );
  let history = purgedVersions + Number(superseded?.n ?? 0);
  for (const type of entityTypes) {
    const [row] = await ctx.database.rows<{ n: number }>(
      sql`with gone as (
            delete from entity_history h
            where h.entity_type = ${type} and h.created_at < ${cutoff}::timestamptz
              and not exists (select 1 from ${entitySql(type).table} t where t.org_id = h.org_id and t.id = h.entity_id)
            returning 1)
          select count(*)::int as n from gone`,
    );
    history += Number(row?.n ?? 0);
  }
  return { tombstones, processedChanges: Number(processed?.n ?? 0), history };
}
