import { entityDefinitions, type EntityType, type ValidationIssue } from "@repensar/contracts";

/**
 * The database's CHECK constraints mirror the definitions' `maxLength` and `values`
 * (packages/db/src/schema/entities.ts names them `<table>_<field>_max_length` / `_values`). They are
 * added NOT VALID, so a row written under a looser rule stays, and is refused only when written
 * again: e.g. a merge that keeps an old 300-character location after the limit became 200. This turns
 * such a refusal into the field it is about, so the client is told what to fix instead of a failure.
 */

/** The field whose CHECK constraint `error` reports, if it is one of the type's. */
export function checkViolationIssues(error: unknown, type: EntityType, prefix: readonly string[] = []): ValidationIssue[] | null {
  const found = violated(error);
  if (!found || found.state !== "23514") return null;
  const { table, fields } = entityDefinitions[type];
  for (const field of Object.keys(fields)) {
    for (const rule of ["max_length", "values"] as const) {
      if (found.constraint !== `${table}_${field}_${rule}`) continue;
      return [
        {
          loc: [...prefix, field],
          msg:
            rule === "max_length"
              ? `The value is longer than ${type}.${field} now allows; the row must be given a shorter one`
              : `The value is not one ${type}.${field} now allows; the row must be given one of its values`,
          type: "check_violation",
        },
      ];
    }
  }
  return null;
}

/** SQLSTATE and constraint name, from either driver's error or what wraps it. */
function violated(error: unknown): { state: string; constraint: string } | null {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === "object" && depth < 5; depth++) {
    const { code, constraint_name: postgresJs, constraint: pglite } = e as { code?: unknown; constraint_name?: unknown; constraint?: unknown };
    const constraint = typeof postgresJs === "string" ? postgresJs : typeof pglite === "string" ? pglite : undefined;
    if (typeof code === "string" && constraint !== undefined) return { state: code, constraint };
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}
