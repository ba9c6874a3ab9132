import { entityDefinitions, FieldKind, isEntityType, type EntityType } from "@repensar/contracts";
import { UsageError } from "./args";

/** Options that steer the CLI itself; anything else on `add`/`edit` names an entity field. */
export const GLOBAL_FLAGS: ReadonlySet<string> = new Set(["home", "json", "help", "version"]);

export function entityType(value: string | undefined): EntityType {
  if (value === undefined) throw new UsageError(`Name an entity type: ${Object.keys(entityDefinitions).join(", ")}.`);
  if (!isEntityType(value)) throw new UsageError(`Unknown entity type '${value}'; the types are ${Object.keys(entityDefinitions).join(", ")}.`);
  return value;
}

/**
 * `--field value` pairs as entity data, each value read as its field's kind: numbers as numbers,
 * `true`/`false` as booleans, lists as comma-separated, an empty value as null (unset).
 */
export function fieldsFromFlags(type: EntityType, flags: Readonly<Record<string, string | true>>): Record<string, unknown> {
  const fields: Readonly<Record<string, { kind: FieldKind }>> = entityDefinitions[type].fields;
  const data: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(flags)) {
    if (GLOBAL_FLAGS.has(name)) continue;
    const field = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (!field) throw new UsageError(`A ${type} has no field '${name}'; its fields are ${Object.keys(fields).join(", ")}.`);
    if (raw === true && field.kind !== FieldKind.Boolean) throw new UsageError(`--${name} needs a value.`);
    data[name] = raw === true ? true : readValue(field.kind, raw);
  }
  return data;
}

function readValue(kind: FieldKind, raw: string): unknown {
  if (raw === "") return null;
  switch (kind) {
    case FieldKind.Integer:
    case FieldKind.Number:
      // A word that is not a number stays a word, so the entity check names the field.
      return /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : raw;
    case FieldKind.Boolean:
      return raw === "true" ? true : raw === "false" ? false : raw;
    case FieldKind.TextList:
      return raw.split(",").map((item) => item.trim()).filter((item) => item !== "");
    default:
      return raw;
  }
}

/** A field value as a table cell. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(String).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
