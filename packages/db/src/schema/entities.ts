import {
  entityDefinitions,
  entityTypes,
  FieldKind,
  type EntityDefinition,
  type EntityType,
  type FieldDefinition,
} from "@repensar/contracts/entities";
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
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

const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/**
 * The database's own copy of the definition's text rules that PostgreSQL reads exactly as the wire
 * validation does: `maxLength` (the wire counts UTF-16 code units, `char_length` code points, which
 * are never more, so nothing valid is refused) and `values`. `minLength` is left out: there the count
 * could refuse what the wire accepts (one emoji is two code units, one code point). `pattern` too: a
 * JavaScript regular expression is not a PostgreSQL one. Both are checked by the server on every write.
 *
 * A tightened rule is added to existing tables `NOT VALID` (see scripts/generate-migration.ts):
 * old rows stay readable, and a row written again must meet it.
 */
export function fieldChecks(table: string, name: string, def: FieldDefinition) {
  if (def.kind !== FieldKind.Text) return [];
  const column = sql.raw(`"${name.replaceAll('"', '""')}"`);
  const checks = [];
  if (def.values) {
    checks.push(check(`${table}_${name}_values`, sql`${column} in (${sql.raw(def.values.map(literal).join(", "))})`));
  } else if (def.maxLength !== undefined) {
    checks.push(check(`${table}_${name}_max_length`, sql`char_length(${column}) <= ${sql.raw(String(def.maxLength))}`));
  }
  return checks;
}

function entityTable<T extends EntityType>(type: T) {
  return entityTableOf(entityDefinitions[type]);
}

/** The table of one definition; `entityTables` holds the contract's, a test may build others. */
export function entityTableOf(def: EntityDefinition) {
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
    (t) => {
      const fields: Readonly<Record<string, FieldDefinition>> = def.fields;
      return [
        primaryKey({ columns: [t.orgId, t.id] }),
        index(`${def.table}_cursor_idx`).on(t.orgId, t.txid, t.seq),
        index(`${def.table}_deleted_idx`).on(t.deletedAt),
        ...Object.entries(fields).flatMap(([name, field]) => fieldChecks(def.table, name, field)),
      ];
    },
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
