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
