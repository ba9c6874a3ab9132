import { entityDefinitions, FieldKind, type EntityType } from "@repensar/contracts";
import type { DatabaseHandle, Executor } from "@repensar/db";
import { sql, type SQL } from "drizzle-orm";

/**
 * Every read and write of entity rows goes through this module, so no write can forget the
 * cursor stamp: each insert, update, soft delete and resolution sets
 * `txid = pg_current_xact_id(), seq = nextval('change_seq')` (see `STAMP`).
 *
 * Rows are turned into JSON inside PostgreSQL (`jsonb_build_object`) so both drivers answer the
 * same shapes: dates as `YYYY-MM-DD`, instants as ISO-8601 UTC with milliseconds, lists as arrays,
 * numbers as numbers. Values go in as JSON text through `jsonb_populate_record`, so one statement
 * writes any entity.
 */

const STAMP = sql.raw(`txid = pg_current_xact_id(), seq = nextval('change_seq')`);

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** An instant as `2025-10-27T11:30:00.000Z`, whatever the session's time zone. */
export const isoInstant = (column: string): string =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

interface EntitySql {
  table: SQL;
  tableName: string;
  fieldNames: string[];
  /** The row's own fields as jsonb, columns of alias `t`. */
  ownJson: string;
  /** The wire's `data`: own fields plus id, version, created_at, updated_at. */
  wireJson: string;
  /**
   * The same as `json` (not `jsonb`): built flat in one call and kept in that key order, about
   * half the work of `wireJson` for a page rendered straight into a response.
   */
  wireJsonText: string;
  /** The own-field column list, quoted. */
  columnList: string;
  /** `r."name", r."email", ...`: the same columns taken from a populated record `r`. */
  recordColumns: string;
}

function buildEntitySql(type: EntityType): EntitySql {
  const def = entityDefinitions[type];
  const fieldNames = Object.keys(def.fields);
  const pairs = Object.entries(def.fields).map(([name, field]) => {
    const column = `t.${quote(name)}`;
    return `'${name}', ${field.kind === FieldKind.DateTime ? isoInstant(column) : column}`;
  });
  const ownJson = pairs.length > 0 ? `jsonb_build_object(${pairs.join(", ")})` : `'{}'::jsonb`;
  const systemPairs = [`'id', t.id`, `'version', t.version`, `'created_at', ${isoInstant("t.created_at")}`, `'updated_at', ${isoInstant("t.updated_at")}`];
  const wireJson = `(jsonb_build_object(${systemPairs.join(", ")}) || ${ownJson})`;
  // A function takes at most 100 arguments: wider entities keep the jsonb path.
  const wireJsonText = systemPairs.length + pairs.length <= 50 ? `json_build_object(${[...systemPairs, ...pairs].join(", ")})` : `${wireJson}::json`;
  return {
    table: sql.raw(quote(def.table)),
    tableName: def.table,
    fieldNames,
    ownJson,
    wireJson,
    wireJsonText,
    columnList: fieldNames.map(quote).join(", "),
    recordColumns: fieldNames.map((n) => `r.${quote(n)}`).join(", "),
  };
}

const entitySqlCache = new Map<EntityType, EntitySql>();
export function entitySql(type: EntityType): EntitySql {
  let built = entitySqlCache.get(type);
  if (!built) {
    built = buildEntitySql(type);
    entitySqlCache.set(type, built);
  }
  return built;
}

/** The row as the server holds it: own fields plus what deciding and reporting need. */
export interface StoredRow {
  id: string;
  version: number;
  deleted: boolean;
  /** Own fields only. */
  own: Record<string, unknown>;
  /** The wire's `data` (own fields plus id, version, created_at, updated_at). */
  data: Record<string, unknown>;
  modifiedByDeviceId: string | null;
  updatedAt: string;
}

interface RawRow extends Record<string, unknown> {
  id: string;
  version: number;
  deleted: boolean;
  own: Record<string, unknown>;
  data: Record<string, unknown>;
  modified_by_device_id: string | null;
  updated_at: string;
}

const toStored = (row: RawRow): StoredRow => ({
  id: row.id,
  version: Number(row.version),
  deleted: row.deleted,
  own: row.own,
  data: row.data,
  modifiedByDeviceId: row.modified_by_device_id,
  updatedAt: row.updated_at,
});

function rowColumns(type: EntityType): SQL {
  const e = entitySql(type);
  return sql.raw(
    `t.id, t.version, (t.deleted_at is not null) as deleted, ${e.ownJson} as own, ${e.wireJson} as data,
     t.modified_by_device_id, ${isoInstant("t.updated_at")} as updated_at`,
  );
}

/** Reads one row of the organization; `lock` takes it `FOR UPDATE` until the transaction ends. */
export async function readEntity(
  database: DatabaseHandle,
  on: Executor,
  type: EntityType,
  orgId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<StoredRow | null> {
  const e = entitySql(type);
  const rows = await database.rows<RawRow>(
    sql`select ${rowColumns(type)} from ${e.table} t where t.org_id = ${orgId} and t.id = ${id}${options.lock ? sql` for update` : sql``}`,
    on,
  );
  const row = rows[0];
  return row ? toStored(row) : null;
}

export interface EntityWrite {
  orgId: string;
  id: string;
  /** The row's complete own fields after the write. */
  own: Record<string, unknown>;
  version: number;
  deviceId: string | null;
}

/**
 * Replaces a row's own fields and version; `deleted` says whether the row is a tombstone
 * afterwards (a soft delete sets `deleted_at`, bringing a row back clears it).
 */
export async function writeEntity(
  database: DatabaseHandle,
  on: Executor,
  type: EntityType,
  write: EntityWrite & { deleted: boolean },
): Promise<StoredRow> {
  const e = entitySql(type);
  const deletedAt = write.deleted ? sql`coalesce(t.deleted_at, now())` : sql`null`;
  const rows = await database.rows<RawRow>(
    sql`with updated as (
          update ${e.table} as t
          set (${sql.raw(e.columnList)}) = (select ${sql.raw(e.recordColumns)} from jsonb_populate_record(null::${e.table}, ${JSON.stringify(write.own)}::jsonb) r),
              version = ${write.version},
              updated_at = now(),
              deleted_at = ${deletedAt},
              modified_by_device_id = ${write.deviceId},
              ${STAMP}
          where t.org_id = ${write.orgId} and t.id = ${write.id}
          returning t.*
        )
        select ${rowColumns(type)} from updated t`,
    on,
  );
  const row = rows[0];
  if (!row) throw new Error(`${type} ${write.id} vanished while locked`);
  return toStored(row);
}

/** Every field of the entity, absent ones as null: a whole row as the table would hold it. */
export function completeRow(type: EntityType, own: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const name of entitySql(type).fieldNames) row[name] = Object.hasOwn(own, name) ? own[name] : null;
  return row;
}

/**
 * Reads the organization's rows with these ids, locked `FOR UPDATE` until the transaction ends.
 * Rows are locked in id order, so two batches touching the same rows wait for each other instead
 * of deadlocking.
 */
export async function lockEntities(
  database: DatabaseHandle,
  on: Executor,
  type: EntityType,
  orgId: string,
  ids: readonly string[],
): Promise<Map<string, StoredRow>> {
  const e = entitySql(type);
  const rows = await database.rows<RawRow>(
    sql`select ${rowColumns(type)} from ${e.table} t
        where t.org_id = ${orgId} and t.id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))
        order by t.id
        for update`,
    on,
  );
  return new Map(rows.map((row) => [row.id, toStored(row)]));
}

/** A row's state after a batch: its complete own fields, version, and whether it is a tombstone. */
export interface EntityRowWrite {
  id: string;
  own: Record<string, unknown>;
  version: number;
  deleted: boolean;
}

/** The rows as one JSON array of the table's record type (id, version and own fields). */
const recordsJson = (rows: readonly EntityRowWrite[]): string =>
  JSON.stringify(rows.map((row) => ({ ...row.own, id: row.id, version: row.version })));

const tombstoneIds = (rows: readonly EntityRowWrite[]): string => JSON.stringify(rows.filter((row) => row.deleted).map((row) => row.id));

/**
 * Inserts new rows in one statement, in id order; answers the ids it inserted. An id missing from
 * the answer was created by a concurrent transaction that committed first.
 */
export async function insertEntities(
  database: DatabaseHandle,
  on: Executor,
  type: EntityType,
  orgId: string,
  deviceId: string | null,
  rows: readonly EntityRowWrite[],
): Promise<Set<string>> {
  const e = entitySql(type);
  const inserted = await database.rows<{ id: string }>(
    sql`insert into ${e.table} as t (org_id, id, ${sql.raw(e.columnList)}, version, modified_by_device_id, deleted_at)
        select ${orgId}, r.id, ${sql.raw(e.recordColumns)}, r.version, ${deviceId},
               case when r.id in (select jsonb_array_elements_text(${tombstoneIds(rows)}::jsonb)) then now() end
        from jsonb_populate_recordset(null::${e.table}, ${recordsJson(rows)}::jsonb) r
        order by r.id
        on conflict (org_id, id) do nothing
        returning t.id`,
    on,
  );
  return new Set(inserted.map((row) => row.id));
}

/** Writes existing rows' new states in one statement (they are locked by `lockEntities`). */
export async function updateEntities(
  database: DatabaseHandle,
  on: Executor,
  type: EntityType,
  orgId: string,
  deviceId: string | null,
  rows: readonly EntityRowWrite[],
): Promise<number> {
  const e = entitySql(type);
  const updated = await database.rows<{ id: string }>(
    sql`update ${e.table} as t
        set (${sql.raw(e.columnList)}) = row(${sql.raw(e.recordColumns)}),
            version = r.version,
            updated_at = now(),
            deleted_at = case when r.id in (select jsonb_array_elements_text(${tombstoneIds(rows)}::jsonb))
                              then coalesce(t.deleted_at, now()) end,
            modified_by_device_id = ${deviceId},
            ${STAMP}
        from jsonb_populate_recordset(null::${e.table}, ${recordsJson(rows)}::jsonb) r
        where t.org_id = ${orgId} and t.id = r.id
        returning t.id`,
    on,
  );
  return updated.length;
}
