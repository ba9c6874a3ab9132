import { entityDefinitions, FieldKind, type EntityType, type FieldDefinition } from "@repensar/contracts/entities";
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

export const volunteers = entityTable("volunteer");
export const projects = entityTable("project");
export const tasks = entityTable("task");
export const timeEntries = entityTable("time_entry");

export const entityTables = {
  volunteer: volunteers,
  project: projects,
  task: tasks,
  time_entry: timeEntries,
} satisfies Record<EntityType, ReturnType<typeof entityTable>>;
