import { z } from "zod";
import { Timestamp } from "./messages/common";
import { entityDefinitions, FieldKind, type EntityDefinition, type FieldDefinition } from "./definitions";

export {
  entityDefinitions,
  FieldKind,
  ReferenceOnMissing,
  ResolutionPolicy,
  type EntityDefinition,
  type FieldDefinition,
} from "./definitions";

/**
 * Everything here is derived from the definitions in `./definitions`: the entity types, the wire
 * validation, and (in other packages) the server's tables, the client's SQLite tables and the
 * OpenAPI schemas. Adding an entity or a field is one edit there plus one generated migration.
 */

export type EntityType = keyof typeof entityDefinitions;
export const entityTypes = Object.keys(entityDefinitions) as EntityType[];
export const EntityTypeSchema = z.enum(entityTypes as [EntityType, ...EntityType[]]);

export function isEntityType(value: string): value is EntityType {
  return Object.hasOwn(entityDefinitions, value);
}

/**
 * The fields the server never merges for this entity, or `null` when it merges none of its updates
 * (see `merge` on the entity and field definitions).
 */
export function unmergeableFields(definition: EntityDefinition): ReadonlySet<string> | null {
  if (definition.merge === false) return null;
  return new Set(Object.entries(definition.fields).flatMap(([name, field]) => (field.merge === false ? [name] : [])));
}

/**
 * Fields every row carries besides its own; the server owns them, so a client may send
 * them but they are ignored when applied.
 */
export const systemFields = [
  "id",
  "version",
  "created_at",
  "updated_at",
  "deleted_at",
  "modified_by_device_id",
  "org_id",
  "organization_id",
] as const;
export type SystemField = (typeof systemFields)[number];
const systemFieldSet: ReadonlySet<string> = new Set(systemFields);
export const isSystemField = (name: string): boolean => systemFieldSet.has(name);

const patterns = new Map<string, RegExp>();

/** A definition's `pattern` as the whole value must match it. */
export function anchoredPattern(pattern: string): RegExp {
  let regex = patterns.get(pattern);
  if (!regex) {
    regex = new RegExp(`^(?:${pattern})$`);
    patterns.set(pattern, regex);
  }
  return regex;
}

const ISO_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function fieldSchema(def: FieldDefinition): z.ZodType {
  switch (def.kind) {
    case FieldKind.Text: {
      if (def.values) return z.enum(def.values as [string, ...string[]]);
      // Text PostgreSQL cannot store is refused by the server change by change (`isStorableText`
      // in its storage check), not here: a device keeps what its user typed, and the server's
      // per-change refusal tells it which edit to fix, without holding up the rest of its outbox.
      if (def.format === "email") return z.email().max(def.maxLength ?? 320);
      let s = z.string();
      if (def.maxLength !== undefined) s = s.max(def.maxLength);
      if (def.minLength !== undefined) s = s.min(def.minLength);
      if (def.pattern !== undefined) s = s.regex(anchoredPattern(def.pattern), `expected text matching ${def.pattern}`);
      return s;
    }
    case FieldKind.Integer: {
      let n = z.number().int();
      if (def.min !== undefined) n = n.min(def.min);
      if (def.max !== undefined) n = n.max(def.max);
      return n;
    }
    case FieldKind.Number: {
      let n = z.number();
      if (def.min !== undefined) n = n.min(def.min);
      if (def.max !== undefined) n = n.max(def.max);
      return n;
    }
    case FieldKind.Boolean:
      return z.boolean();
    case FieldKind.Date:
      return z.string().regex(ISO_DATE, "expected a date as YYYY-MM-DD");
    case FieldKind.DateTime:
      return Timestamp;
    case FieldKind.TextList:
      return z.array(z.string().max(200)).max(100);
    case FieldKind.Ref:
      return z.string().min(1).max(128);
  }
}

/** The value of one field as stored: required fields may not be null, optional ones may. */
function storedFieldSchema(def: FieldDefinition): z.ZodType {
  const base = fieldSchema(def);
  return def.required ? base : base.nullable();
}

type Shape = Record<string, z.ZodType>;

function buildSchemas(type: EntityType) {
  const def: EntityDefinition = entityDefinitions[type];
  const full: Shape = {};
  const patch: Shape = {};
  for (const [name, field] of Object.entries(def.fields)) {
    const stored = storedFieldSchema(field);
    full[name] = field.required ? stored : stored.optional();
    patch[name] = stored.optional();
  }
  return {
    /** A whole row's own fields (CREATE, `manual` resolution): required fields present, no unknown fields. */
    full: z.strictObject(full),
    /** An UPDATE's data: any subset of the fields, no unknown fields. */
    patch: z.strictObject(patch),
  };
}

const schemaCache = new Map<EntityType, ReturnType<typeof buildSchemas>>();

export function entitySchemas(type: EntityType): ReturnType<typeof buildSchemas> {
  let schemas = schemaCache.get(type);
  if (!schemas) {
    schemas = buildSchemas(type);
    schemaCache.set(type, schemas);
  }
  return schemas;
}

/** Drops the system fields a client may echo back; they are the server's to set. */
export function withoutSystemFields(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    // defineProperty, not assignment: `own["__proto__"] = value` would set the prototype, hiding the
    // key from the unknown-field check while its contents were read as the entity's fields.
    if (!isSystemField(key)) Object.defineProperty(own, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return own;
}

export interface EntityValidationIssue {
  /** Path within `data`, e.g. `["hours"]`. */
  loc: (string | number)[];
  msg: string;
  type: string;
}

export type EntityValidation =
  | { ok: true; data: Record<string, unknown> }
  | { ok: false; issues: EntityValidationIssue[] };

/**
 * Validates a change's `data` against its entity: `full` for a whole row, `patch` for an UPDATE.
 * System fields are dropped first; an unknown field or a wrong type is an issue naming the field.
 */
export function validateEntityData(
  type: EntityType,
  data: Readonly<Record<string, unknown>>,
  mode: "full" | "patch",
): EntityValidation {
  const parsed = entitySchemas(type)[mode].safeParse(withoutSystemFields(data));
  if (parsed.success) return { ok: true, data: parsed.data as Record<string, unknown> };
  return {
    ok: false,
    issues: parsed.error.issues.flatMap((issue): EntityValidationIssue[] => {
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => ({ loc: [key], msg: `Unknown field '${key}'`, type: "unknown_field" }));
      }
      return [{ loc: issue.path.map((p) => (typeof p === "symbol" ? String(p) : p)), msg: issue.message, type: issue.code }];
    }),
  };
}
