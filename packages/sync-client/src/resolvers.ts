import { type ConflictData, ConflictType, ResolutionPolicy, entityDefinitions, isEntityType, withoutSystemFields } from "@repensar/contracts";
import { type ConflictCase, type Resolution, ResolutionKind, resolveConflict } from "@repensar/conflict-engine";
import type { RowSyncState } from "./local-store";

export type { Resolution } from "@repensar/conflict-engine";

/** What a resolver is told: the server's conflict record and the row as this device holds it. */
export interface ConflictContext {
  readonly conflict: ConflictData;
  /** The local row, its base (the three-way merge's ancestor) and its outbox entries; null if the row is unknown here. */
  readonly local: RowSyncState | null;
}

/**
 * Decides a conflict: a resolution to send to the server, or `null` to leave it for later (the
 * change is parked; the app resolves it with `SyncManager.resolveParked`).
 */
export type Resolver = (context: ConflictContext) => Resolution | null | Promise<Resolution | null>;

/** The conflict in the conflict engine's terms, with the local base as the common ancestor. */
export function conflictCase(context: ConflictContext): ConflictCase {
  const { conflict, local } = context;
  return {
    conflict_type: conflict.conflict_type,
    client_data: withoutSystemFields(conflict.client_data),
    server_data: ownFields(conflict.entity_type, conflict.server_data),
    // The server's copy of the row at the change's base version when it has one; else the device's.
    base_data: conflict.base_data
      ? ownFields(conflict.entity_type, conflict.base_data)
      : local?.base
        ? ownFields(conflict.entity_type, local.base.data)
        : null,
    client_modified_at: conflict.client_modified_at,
    server_modified_at: conflict.server_modified_at,
    server_deleted: conflict.conflict_type === ConflictType.UpdateOnDeleted,
  };
}

/** The entity's defined fields only: `merged_data` is validated against the entity as a whole. */
function ownFields(type: string, data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const own = withoutSystemFields(data);
  if (!isEntityType(type)) return own;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(entityDefinitions[type].fields)) if (Object.hasOwn(own, name)) out[name] = own[name];
  return out;
}

function byPolicy(policy: ResolutionPolicy): Resolver {
  return (context) => resolveConflict(policy, conflictCase(context));
}

/** Keep the server's row; this device's change is dropped. */
export const serverWins: Resolver = byPolicy(ResolutionPolicy.ServerWins);
/** Apply this device's change over the server's row. */
export const clientWins: Resolver = byPolicy(ResolutionPolicy.ClientWins);
/** The later of the two edits wins, by instant; a tie or an unknown time keeps the server's row. */
export const lastWriteWins: Resolver = byPolicy(ResolutionPolicy.LastWriteWins);
/**
 * Three-way, field by field, against the row this device's change was based on (the conflict's
 * `base_data` when the server sends it, else the device's own copy). When no field was
 * changed differently on both sides, the merged row (each field from the side that changed it) is
 * sent as a `manual` resolution. When any field was, nothing is merged: the whole server row wins
 * (`server_wins`), and this device's changes to the other fields are dropped too. A delete against
 * an edit keeps the server's row; an edit against a server delete brings the row back (`client_wins`).
 */
export const merge: Resolver = byPolicy(ResolutionPolicy.Merge);

/** Leave every conflict for the app to settle later (the change waits, parked). */
export const deferred: Resolver = () => null;

/** What the entity's policy suggests (`suggested_resolution`); `manual` is left for the app. */
export const suggested: Resolver = (context) => {
  const suggestion = context.conflict.suggested_resolution;
  if (suggestion === ResolutionKind.Manual) return null;
  return resolveConflict(suggestion, conflictCase(context));
};

/** The app's own decision, e.g. a dialog; return `null` to decide later. */
export function callback(decide: (context: ConflictContext) => Resolution | null | Promise<Resolution | null>): Resolver {
  return (context) => decide(context);
}

export const resolvers = { serverWins, clientWins, lastWriteWins, merge, deferred, suggested, callback } as const;

const policies: readonly string[] = Object.values(ResolutionPolicy);

/** Whether `value` names a strategy (`server_wins`, `client_wins`, `last_write_wins`, `merge`). */
export function isResolutionPolicy(value: string): value is ResolutionPolicy {
  return policies.includes(value);
}

/** The resolver for a strategy named as the wire and config files spell it. */
export function resolverFor(policy: ResolutionPolicy): Resolver {
  return byPolicy(policy);
}
