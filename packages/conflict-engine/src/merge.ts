import { fieldNames, sameValue, setField } from "./equality";

export interface FieldMerge {
  /** The merged row. A conflicting field keeps the server's value. */
  merged: Record<string, unknown>;
  /** Fields both sides changed, to different values. Empty when the merge is clean. */
  conflictingFields: string[];
}

/**
 * Three-way merge, field by field, against the row both sides started from.
 *
 * A field changed on one side only is taken from that side; changed on both sides to the same value
 * is agreement; changed on both sides to different values is a conflict, and the merged row keeps
 * the server's value for it. `client` and `server` are whole rows; a field absent from a row reads
 * as null (see `sameValue`), and a field whose chosen value is absent stays absent in `merged`.
 */
export function mergeFields(
  base: Readonly<Record<string, unknown>>,
  client: Readonly<Record<string, unknown>>,
  server: Readonly<Record<string, unknown>>,
): FieldMerge {
  const merged: Record<string, unknown> = {};
  const conflictingFields: string[] = [];
  for (const key of fieldNames(server, client, base)) {
    const clientChanged = !sameValue(base[key], client[key]);
    const serverChanged = !sameValue(base[key], server[key]);
    const bothDiffer = clientChanged && serverChanged && !sameValue(client[key], server[key]);
    if (bothDiffer) conflictingFields.push(key);
    const value = clientChanged && !serverChanged ? client[key] : server[key];
    if (value !== undefined) setField(merged, key, value);
  }
  return { merged, conflictingFields };
}

/**
 * Two-way merge, for when the row the client started from is not known: `patch` holds the fields
 * the client changed, `server` the whole current row.
 *
 * Without a base nobody can tell whether the server also changed a patched field since the client
 * saw it, so a patched field whose value differs from the server's counts as conflicting (it keeps
 * the server's value). The merge is clean only when every patched field already holds the client's
 * value; fields outside the patch are the server's.
 */
export function mergePatch(
  patch: Readonly<Record<string, unknown>>,
  server: Readonly<Record<string, unknown>>,
): FieldMerge {
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(server)) if (value !== undefined) setField(merged, key, value);
  const conflictingFields = Object.entries(patch)
    .filter(([key, value]) => value !== undefined && !sameValue(value, server[key]))
    .map(([key]) => key);
  return { merged, conflictingFields };
}

/** What became of an UPDATE based on a version the row has since moved past, merged against that version. */
export type StaleUpdateMerge =
  | {
      merged: true;
      /** The row's own fields after the client's changes are laid over the server's. */
      data: Record<string, unknown>;
      /** Fields the client changed since the base; empty when its patch changes nothing. */
      clientFields: string[];
      /** Fields changed on the server since the base. */
      serverFields: string[];
    }
  | {
      merged: false;
      clientFields: string[];
      serverFields: string[];
      /** Fields both sides changed. */
      overlapping: string[];
      /** Fields that opt out of merging and one side changed while the other changed anything. */
      refused: string[];
    };

/**
 * Three-way merge of a stale UPDATE: `patch` was written against `base` (the row at the version the
 * client saw); `server` is the row now. The update merges when the fields it changes are disjoint from
 * the fields changed on the server since `base`, and no field either side changed opts out of merging
 * (`unmergeable`) while the other side changed anything. A field both sides set counts as changed on
 * both, even to the same value: the answer never depends on what values happened to be typed.
 */
export function mergeStaleUpdate(
  base: Readonly<Record<string, unknown>>,
  patch: Readonly<Record<string, unknown>>,
  server: Readonly<Record<string, unknown>>,
  unmergeable: ReadonlySet<string> = new Set(),
): StaleUpdateMerge {
  const clientFields = Object.keys(patch).filter((key) => patch[key] !== undefined && !sameValue(patch[key], base[key]));
  const serverFields = fieldNames(base, server).filter((key) => !sameValue(base[key], server[key]));
  const serverSet = new Set(serverFields);
  const overlapping = clientFields.filter((key) => serverSet.has(key));
  const concurrent = clientFields.length > 0 && serverFields.length > 0;
  const refused = concurrent ? [...new Set([...clientFields, ...serverFields])].filter((key) => unmergeable.has(key)) : [];
  if (overlapping.length > 0 || refused.length > 0) return { merged: false, clientFields, serverFields, overlapping, refused };
  const client: Record<string, unknown> = { ...base };
  for (const key of clientFields) setField(client, key, patch[key]);
  return { merged: true, data: mergeFields(base, client, server).merged, clientFields, serverFields };
}
