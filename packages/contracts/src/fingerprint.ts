import { entityDefinitions, entityTypes, type EntityDefinition, type EntityType } from "./entities";
import { z } from "zod";
import { FieldDefinitionSchema, type SyncSchemaResponse } from "./messages/schema";
import { PROTOCOL_VERSION } from "./protocol";
import { sha256Hex } from "./sha256";

/**
 * JSON with object keys sorted at every depth, so two definitions that say the same thing serialize
 * alike whatever order their fields or options were written in. Array order is kept: it can matter.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** 64 bits of SHA-256: plenty to tell one definition from the next, short enough to send on every pull. */
const FINGERPRINT_HEX_DIGITS = 16;

/**
 * What a client compares to know its copy of a type was stored under other rules: a hash of the
 * definition's fields (each field's `merge` opt-out among them) and, when the whole entity opts out
 * of server merges, of `{fields, merge: false}` instead. The table name and conflict policy change
 * nothing in the rows a client holds, so they do not make every client re-pull.
 */
export function entityFingerprint(definition: { readonly fields: Readonly<Record<string, unknown>>; readonly merge?: false | undefined }): string {
  const hashed = definition.merge === false ? { fields: definition.fields, merge: false } : definition.fields;
  return sha256Hex(canonicalJson(hashed)).slice(0, FINGERPRINT_HEX_DIGITS);
}

let fingerprints: Readonly<Record<EntityType, string>> | undefined;

/** Each entity type's fingerprint under this contract's definitions. */
export function schemaFingerprints(): Readonly<Record<EntityType, string>> {
  // `Object.fromEntries` types its result by string keys; the keys are exactly `entityTypes`.
  fingerprints ??= Object.fromEntries(
    entityTypes.map((type) => [type, entityFingerprint(entityDefinitions[type])]),
  ) as Record<EntityType, string>;
  return fingerprints;
}

const servedFields = z.record(z.string(), FieldDefinitionSchema.strict());

/** The body of `GET /sync/schema`: every definition with its fingerprint. */
export function syncSchema(): SyncSchemaResponse {
  const fingerprintOf = schemaFingerprints();
  return {
    protocol_version: PROTOCOL_VERSION,
    entities: entityTypes.map((type) => {
      const definition: EntityDefinition = entityDefinitions[type];
      return {
        entity_type: type,
        fingerprint: fingerprintOf[type],
        conflict_policy: definition.conflictPolicy,
        ...(definition.merge === false ? { merge: false as const } : {}),
        // Parsing copies (the definitions must not be handed out to be mutated), and strictly: a
        // definition option the wire schema does not describe would be hashed but never served.
        fields: servedFields.parse(definition.fields),
      };
    }),
    schema_fingerprints: { ...fingerprintOf },
  };
}
