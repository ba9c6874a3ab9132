import { entityDefinitions, FieldKind, isEntityType, ReferenceOnMissing, type EntityType, type ValidationIssue } from "@repensar/contracts";
import type { DatabaseHandle, Executor } from "@repensar/db";
import { sql } from "drizzle-orm";
import { entitySql } from "./entity-store";

/**
 * The `references` of the entity definitions, checked on push: a `ref` field must name a live row
 * of its referenced type in the caller's organization, unless the field says `onMissing: "allow"`.
 *
 * Set-based like the rest of the push: one query per referenced type per batch, whatever the batch's
 * size. The rows found are locked `for share`, so a concurrent batch cannot delete one between this
 * check and the commit (it waits, or deadlocks and is retried). Rows the batch itself writes are
 * judged by what the batch has done to them by the time a change is decided, so a row created earlier
 * in the same batch counts as present and one deleted earlier counts as gone.
 */

/** One `ref` field of an entity that is checked, and the type it points at. */
interface CheckedReference {
  readonly field: string;
  readonly target: EntityType;
}

const checkedCache = new Map<EntityType, readonly CheckedReference[]>();

function checkedReferences(type: EntityType): readonly CheckedReference[] {
  let found = checkedCache.get(type);
  if (!found) {
    const fields: Readonly<Record<string, { kind: string; references?: string; onMissing?: ReferenceOnMissing }>> = entityDefinitions[type].fields;
    found = Object.entries(fields).flatMap(([field, def]) =>
      def.kind === FieldKind.Ref && def.references !== undefined && isEntityType(def.references) && def.onMissing !== ReferenceOnMissing.Allow
        ? [{ field, target: def.references }]
        : [],
    );
    checkedCache.set(type, found);
  }
  return found;
}

/** A change as the reference check sees it: its type and the own fields it writes. */
export interface ReferencingChange {
  readonly type: EntityType;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The ids each checked reference of the changes names, by referenced type. */
function namedIds(changes: readonly ReferencingChange[]): Map<EntityType, Set<string>> {
  const byType = new Map<EntityType, Set<string>>();
  for (const change of changes) {
    for (const { field, target } of checkedReferences(change.type)) {
      const id = change.data[field];
      if (typeof id !== "string") continue;
      let ids = byType.get(target);
      if (!ids) byType.set(target, (ids = new Set()));
      ids.add(id);
    }
  }
  return byType;
}

/** What the organization held, before the batch, of the rows the batch's references name. */
export interface ReferenceIndex {
  /** Live rows that exist, keyed `type\u0000id`. */
  readonly present: ReadonlySet<string>;
}

const key = (type: string, id: string): string => `${type}\u0000${id}`;

/** Reads the live rows the changes' references name: one statement per referenced type. */
export async function loadReferences(
  database: DatabaseHandle,
  tx: Executor,
  orgId: string,
  changes: readonly ReferencingChange[],
): Promise<ReferenceIndex> {
  const present = new Set<string>();
  // In type order, and ids sorted, like the batch's own row locks: fewer lock-order deadlocks.
  for (const [type, ids] of [...namedIds(changes)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const e = entitySql(type);
    const rows = await database.rows<{ id: string }>(
      sql`select t.id from ${e.table} t
          where t.org_id = ${orgId} and t.deleted_at is null
            and t.id in (select jsonb_array_elements_text(${JSON.stringify([...ids].sort())}::jsonb))
          order by t.id
          for share`,
      tx,
    );
    for (const row of rows) present.add(key(type, row.id));
  }
  return { present };
}

/** How the batch has left a row it writes, if it writes it: `live`, `gone`, or undefined when the batch does not touch it. */
export type BatchRowState = (type: EntityType, id: string) => "live" | "gone" | undefined;

/**
 * The issues of a change whose references name no live row (`null` when every one does). A value
 * equal to the row's `current` one is not judged again: a reference stored before references were
 * checked, or whose row was deleted since, does not stop every later edit of the row.
 */
export function danglingReferences(
  index: ReferenceIndex,
  change: ReferencingChange,
  inBatch: BatchRowState,
  current: Readonly<Record<string, unknown>> | null = null,
  prefix: readonly string[] = ["data"],
): ValidationIssue[] | null {
  const issues: ValidationIssue[] = [];
  for (const { field, target } of checkedReferences(change.type)) {
    const id = change.data[field];
    if (typeof id !== "string" || (current !== null && current[field] === id)) continue;
    const state = inBatch(target, id);
    const live = state === undefined ? index.present.has(key(target, id)) : state === "live";
    if (!live) {
      issues.push({ loc: [...prefix, field], msg: `No ${target} '${id}' exists in your organization`, type: "reference_missing" });
    }
  }
  return issues.length > 0 ? issues : null;
}
