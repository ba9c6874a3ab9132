/**
 * Structural equality for row values, as a user would judge "the same data".
 *
 * - Arrays and plain objects compare element by element, key by key.
 * - A missing value (`undefined`) and `null` are equal. Optional fields are stored as NULL on the
 *   server while clients often leave them out, so `{}` and `{ notes: null }` describe the same row.
 *   Required fields cannot be null or missing once validated, so the rule only ever touches
 *   optional ones.
 * - `Date` instances compare by instant; numbers by value (`NaN` equals `NaN`, `0` equals `-0`,
 *   as they would after a JSON round trip).
 */
export function sameValue(a: unknown, b: unknown): boolean {
  const left = a ?? null;
  const right = b ?? null;
  if (left === right) return true;
  if (typeof left === "number" && typeof right === "number") return Number.isNaN(left) && Number.isNaN(right);
  if (left instanceof Date || right instanceof Date) {
    return left instanceof Date && right instanceof Date && left.getTime() === right.getTime();
  }
  if (Array.isArray(left) || Array.isArray(right)) {
    if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
    return left.every((item, i) => sameValue(item, right[i]));
  }
  if (isRecord(left) && isRecord(right)) return sameFields(left, right);
  return false;
}

/** Two sets of fields are the same when every field present on either side has the same value. */
export function sameFields(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  return fieldNames(a, b).every((key) => sameValue(a[key], b[key]));
}

/** The union of the field names, in order of first appearance. */
export function fieldNames(...rows: readonly Readonly<Record<string, unknown>>[]): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) names.add(key);
  return [...names];
}

/**
 * Sets a field as an own property. Plain assignment would treat a `__proto__` key (which
 * `JSON.parse` yields as an ordinary own key) as the object's prototype instead of a field.
 */
export function setField(row: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(row, key, { value, enumerable: true, writable: true, configurable: true });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
