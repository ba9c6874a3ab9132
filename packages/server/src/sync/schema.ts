import { schemaFingerprints, type EntityType, type SchemaFingerprints } from "@repensar/contracts";

/**
 * The fingerprints of the types a pull asked for, so a client learns that a type's definition changed
 * on its very next pull, without polling `GET /sync/schema`.
 */
export function fingerprintsOf(types: readonly EntityType[]): SchemaFingerprints {
  const all = schemaFingerprints();
  return Object.fromEntries(types.map((type) => [type, all[type]]));
}

/** `,"skipped_entity_types":[…]` for a pull body that skipped types, else nothing (older clients' shape). */
export function skippedField(skipped: readonly string[] | undefined): string {
  return skipped?.length ? `,"skipped_entity_types":${JSON.stringify(skipped)}` : "";
}
