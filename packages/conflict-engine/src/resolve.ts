import { ResolutionPolicy } from "@repensar/contracts";
import { type ConflictCase, ConflictType, type Resolution, ResolutionKind } from "./conflict";
import { sameFields } from "./equality";
import { compareInstants } from "./instant";
import { type FieldMerge, mergeFields, mergePatch } from "./merge";
import { applyPatch } from "./decide";

export interface ResolveOptions {
  /**
   * What `merge` settles on when both sides changed the same field differently (default
   * `server_wins`: the row stays as it is and the client's change is dropped; the conflict record
   * still holds it for anyone who wants to redo it by hand).
   */
  uncleanMerge?: typeof ResolutionKind.ServerWins | typeof ResolutionKind.ClientWins;
}

const serverWins: Resolution = { resolution: ResolutionKind.ServerWins };
const clientWins: Resolution = { resolution: ResolutionKind.ClientWins };

/**
 * Settles a conflict by a strategy.
 *
 * - `server_wins`, `client_wins`: as named.
 * - `last_write_wins`: the later of `client_modified_at` and `server_modified_at`, compared as
 *   instants; a tie, or a missing or unreadable time, goes to the server (it never loses data it
 *   already holds on a guess).
 * - `merge`: field by field (three-way when `base_data` is known, two-way otherwise; a
 *   `create_exists` merges against an empty base, since the two rows share no history).
 *   A clean merge is `manual` with the merged row — or `server_wins` when the merged row is the
 *   server's own, as there is nothing new to write. An unclean merge falls back to
 *   `options.uncleanMerge`. A deletion cannot be merged with an edit, so merge keeps whichever
 *   side still has data: `delete_on_modified` -> `server_wins` (the newer edits survive),
 *   `update_on_deleted` and `create_exists` on a tombstone -> `client_wins` (the row comes back
 *   with the client's data).
 */
export function resolveConflict(
  strategy: ResolutionPolicy,
  conflict: ConflictCase,
  options: ResolveOptions = {},
): Resolution {
  switch (strategy) {
    case ResolutionPolicy.ServerWins:
      return serverWins;
    case ResolutionPolicy.ClientWins:
      return clientWins;
    case ResolutionPolicy.LastWriteWins:
      return lastWriteWins(conflict);
    case ResolutionPolicy.Merge:
      return mergeResolution(conflict, options);
  }
}

function lastWriteWins(conflict: ConflictCase): Resolution {
  const { client_modified_at: clientAt, server_modified_at: serverAt } = conflict;
  if (clientAt == null || serverAt == null) return serverWins;
  const order = compareInstants(clientAt, serverAt);
  return order !== undefined && order > 0 ? clientWins : serverWins;
}

function mergeResolution(conflict: ConflictCase, options: ResolveOptions): Resolution {
  const { conflict_type: type, server_data: server } = conflict;
  if (type === ConflictType.DeleteOnModified) return serverWins;
  if (type === ConflictType.UpdateOnDeleted || conflict.server_deleted === true) return clientWins;

  const outcome = mergeForConflict(conflict);
  if (outcome.conflictingFields.length > 0) {
    return options.uncleanMerge === ResolutionKind.ClientWins ? clientWins : serverWins;
  }
  if (sameFields(outcome.merged, server)) return serverWins;
  return { resolution: ResolutionKind.Manual, merged_data: outcome.merged };
}

/** The field merge `merge` would use for this conflict (its base depends on the conflict's type). */
export function mergeForConflict(conflict: ConflictCase): FieldMerge {
  const { client_data: client, server_data: server, base_data: base } = conflict;
  if (conflict.conflict_type === ConflictType.CreateExists) return mergeFields(base ?? {}, client, server);
  // An UPDATE's data is a patch over the row it was based on.
  if (base != null) return mergeFields(base, applyPatch(base, client), server);
  return mergePatch(client, server);
}
