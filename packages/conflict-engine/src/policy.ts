import { type EntityType, entityDefinitions, type ResolutionPolicy } from "@repensar/contracts";
import type { ConflictCase, Resolution } from "./conflict";
import { resolveConflict, type ResolveOptions } from "./resolve";

/** The strategy an entity's conflicts are settled by, as its definition declares. */
export function conflictPolicyOf(entityType: EntityType): ResolutionPolicy {
  return entityDefinitions[entityType].conflictPolicy;
}

/**
 * The resolution the server suggests for a conflict on an entity: its policy applied to the
 * conflict. `.resolution` is the `suggested_resolution` reported to clients; for `manual`,
 * `merged_data` is the proposed row.
 */
export function suggestResolution(
  entityType: EntityType,
  conflict: ConflictCase,
  options: ResolveOptions = {},
): Resolution {
  return resolveConflict(conflictPolicyOf(entityType), conflict, options);
}
