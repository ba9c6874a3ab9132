import { entityDefinitions, isSystemField, type EntityType, type FieldDefinition } from "@repensar/contracts";

/** Structural equality for JSON values (field values of entity rows). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return (a ?? null) === (b ?? null);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => Object.hasOwn(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export interface FieldComparison {
  name: string;
  definition: FieldDefinition | undefined;
  server: unknown;
  client: unknown;
  /** The client's change names this field (an UPDATE may carry only the fields it changed). */
  clientHas: boolean;
  differs: boolean;
}

/** The entity's own fields, then any other field either side carries, each compared. */
export function compareFields(type: string, server: Record<string, unknown>, client: Record<string, unknown>): FieldComparison[] {
  const defined: Readonly<Record<string, FieldDefinition>> = isKnownType(type) ? entityDefinitions[type].fields : {};
  const names = [...Object.keys(defined)];
  for (const key of [...Object.keys(server), ...Object.keys(client)]) {
    if (!isSystemField(key) && !names.includes(key)) names.push(key);
  }
  return names.map((name) => {
    const clientHas = Object.hasOwn(client, name);
    const serverValue = server[name] ?? null;
    const clientValue = clientHas ? (client[name] ?? null) : serverValue;
    return { name, definition: defined[name], server: serverValue, client: clientValue, clientHas, differs: clientHas && !sameValue(serverValue, clientValue) };
  });
}

export interface ThreeWayComparison extends FieldComparison {
  /** The field in the row both sides started from. */
  base: unknown;
  /** The device's change set the field to something other than the base's value. */
  deviceChanged: boolean;
  /** The server's row moved the field away from the base since. */
  serverChanged: boolean;
}

/** As `compareFields`, with the row both sides started from: which side changed each field. */
export function compareThreeWay(
  type: string,
  base: Record<string, unknown>,
  server: Record<string, unknown>,
  client: Record<string, unknown>,
): ThreeWayComparison[] {
  return compareFields(type, server, client).map((f) => {
    const baseValue = base[f.name] ?? null;
    return { ...f, base: baseValue, deviceChanged: f.clientHas && !sameValue(baseValue, f.client), serverChanged: !sameValue(baseValue, f.server) };
  });
}

function isKnownType(type: string): type is EntityType {
  return Object.hasOwn(entityDefinitions, type);
}

/** What a field's editor shows for a value, and how the edited text becomes a value again. */
export function toEditorText(value: unknown, def: FieldDefinition | undefined): string {
  if (value === null || value === undefined) return "";
  if (def?.kind === "text[]" && Array.isArray(value)) return value.map(String).join(", ");
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

export function fromEditorText(text: string, def: FieldDefinition | undefined): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return def?.kind === "text[]" ? [] : null;
  switch (def?.kind) {
    case "integer":
    case "number": {
      const n = Number(trimmed);
      // Left as text so validation names the field instead of a NaN slipping through.
      return Number.isFinite(n) ? n : text;
    }
    case "boolean":
      return trimmed === "true" ? true : trimmed === "false" ? false : text;
    case "text[]":
      return trimmed
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    default:
      return text;
  }
}
