import {
  entityDefinitions,
  FieldKind,
  isStorableText,
  unstorableTextIssue,
  validateEntityData,
  type EntityType,
  type EntityValidation,
  type EntityValidationIssue,
} from "@repensar/contracts";

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/** A string PostgreSQL cannot store: the contract's one rule (`isStorableText`), for values checked one change at a time. */
export function unstorableString(value: string): boolean {
  return !isStorableText(value);
}

function storableIssues(value: unknown, loc: (string | number)[], out: EntityValidationIssue[]): void {
  if (typeof value === "string") {
    if (unstorableString(value)) out.push({ loc, ...unstorableTextIssue });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => storableIssues(item, [...loc, i], out));
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) storableIssues(item, [...loc, key], out);
  }
}

/** `YYYY-MM-DD` naming a day that exists, in the years PostgreSQL's `date` and clients agree on. */
function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1) return false;
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * `validateEntityData` plus what the column types add: calendar dates that exist, integers that
 * fit, instants PostgreSQL can read, and strings it can store. Every issue names its field.
 */
export function validateForStorage(
  type: EntityType,
  data: Readonly<Record<string, unknown>>,
  mode: "full" | "patch",
): EntityValidation {
  const issues: EntityValidationIssue[] = [];
  storableIssues(data, [], issues);
  if (issues.length > 0) return { ok: false, issues };
  const checked = validateEntityData(type, data, mode);
  if (!checked.ok) return checked;
  const fields: Readonly<Record<string, { kind: FieldKind }>> = entityDefinitions[type].fields;
  for (const [name, value] of Object.entries(checked.data)) {
    const kind = fields[name]?.kind;
    if (value === null || value === undefined) continue;
    if (kind === FieldKind.Date && typeof value === "string" && !isCalendarDate(value)) {
      issues.push({ loc: [name], msg: "expected a date that exists, as YYYY-MM-DD", type: "invalid_date" });
    }
    if (kind === FieldKind.Integer && typeof value === "number" && (value < INT32_MIN || value > INT32_MAX)) {
      issues.push({ loc: [name], msg: "expected a whole number between -2147483648 and 2147483647", type: "too_big" });
    }
    if (kind === FieldKind.DateTime && typeof value === "string") {
      const year = new Date(value).getUTCFullYear();
      if (!Number.isFinite(year) || year < 1 || year > 9999) {
        issues.push({ loc: [name], msg: "expected an instant between years 1 and 9999", type: "invalid_date" });
      }
    }
  }
  return issues.length > 0 ? { ok: false, issues } : checked;
}
