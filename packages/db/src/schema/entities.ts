import { entityDefinitions, entityTypes, FieldKind, type EntityType, type FieldDefinition } from "@repensar/contracts/entities";
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  date,
  doublePrecision,
  index,
  integer,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
  type PgColumnBuilderBase,
} from "drizzle-orm/pg-core";
import { organizations } from "./system";
import { xid8 } from "./types";

/** Orders the writes of one transaction; with `txid`, the pull cursor's position. */
export const changeSeq = pgSequence("change_seq", { startWith: 1 });

function fieldColumn(name: string, def: FieldDefinition): PgColumnBuilderBase {
  const column = (() => {
    switch (def.kind) {
      case FieldKind.Text:
      case FieldKind.Ref:
        return text(name);
      case FieldKind.Integer:
        return integer(name);
      case FieldKind.Number:
        return doublePrecision(name);
      case FieldKind.Boolean:
        return boolean(name);
      case FieldKind.Date:
        return date(name, { mode: "string" });
      case FieldKind.DateTime:
        return timestamp(name, { withTimezone: true, mode: "string" });
      case FieldKind.TextList:
        return text(name).array();
    }
  })();
  return def.required ? column.notNull() : column;
}

function entityTable<T extends EntityType>(type: T) {
  const def = entityDefinitions[type];
  const own: Record<string, PgColumnBuilderBase> = {};
  for (const [name, field] of Object.entries(def.fields)) own[name] = fieldColumn(name, field);
  return pgTable(
    def.table,
    {
      orgId: uuid("org_id")
        .notNull()
        .references(() => organizations.id, { onDelete: "cascade" }),
      id: text("id").notNull(),
      ...own,
      version: integer("version").notNull(),
      createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
      updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
      deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date" }),
      modifiedByDeviceId: text("modified_by_device_id"),
      /** Writer's transaction id; every write sets it again (see the pull cursor). */
      txid: xid8("txid").notNull().default(sql`pg_current_xact_id()`),
      seq: bigint("seq", { mode: "bigint" })
        .notNull()
        .default(sql`nextval('change_seq')`),
    },
    (t) => [
      primaryKey({ columns: [t.orgId, t.id] }),
      index(`${def.table}_cursor_idx`).on(t.orgId, t.txid, t.seq),
      index(`${def.table}_deleted_idx`).on(t.deletedAt),
    ],
  );
}

type EntityTables = { readonly [T in EntityType]: ReturnType<typeof entityTable<T>> };

/**
 * One table per entity definition, so a new definition is a new table with nothing else to edit here.
 * `Object.fromEntries` types its result by string keys; the keys are exactly `entityTypes`.
 */
export const entityTables = Object.fromEntries(entityTypes.map((type) => [type, entityTable(type)])) as EntityTables;

// drizzle-kit finds tables only among a schema module's top-level exports, which cannot be made in a
// loop; `migration-drift.test.ts` fails, naming the table, when an entity type's table is missing here.
export const volunteers = entityTables.volunteer;
export const projects = entityTables.project;
export const tasks = entityTables.task;
export const timeEntries = entityTables.time_entry;
