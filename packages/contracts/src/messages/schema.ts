import { z } from "zod";
import { FieldKind, ResolutionPolicy } from "../entities";

/**
 * Entity type -> fingerprint of its definition (see `entityFingerprint`). When the fingerprint a client
 * stored for a type differs from the server's, the rows it holds were written under other rules.
 */
export const SchemaFingerprints = z.record(z.string(), z.string());
export type SchemaFingerprints = z.infer<typeof SchemaFingerprints>;

/**
 * One field as the contract defines it. Keys are the definition's own (`maxLength` is JSON Schema's
 * spelling too), so a client can hash `fields` as the server does and compare fingerprints.
 */
export const FieldDefinitionSchema = z.object({
  kind: z.enum(Object.values(FieldKind)),
  required: z.boolean().optional(),
  maxLength: z.number().int().optional(),
  minLength: z.number().int().optional(),
  /** Matched against the whole value (anchored at both ends). */
  pattern: z.string().optional(),
  values: z.array(z.string()).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  references: z.string().optional(),
  onMissing: z.enum(["reject", "allow"]).optional(),
  format: z.literal("email").optional(),
  /** `false`: the server never merges concurrent edits of this field. */
  merge: z.literal(false).optional(),
});

export const EntitySchema = z.object({
  entity_type: z.string(),
  fingerprint: z.string(),
  conflict_policy: z.enum(Object.values(ResolutionPolicy)),
  /** `false`: the server merges no stale UPDATE of this type (absent: it merges disjoint edits). */
  merge: z.literal(false).optional(),
  fields: z.record(z.string(), FieldDefinitionSchema),
});
export type EntitySchema = z.infer<typeof EntitySchema>;

/** `GET /sync/schema`: the entity definitions this server syncs, each with its fingerprint. */
export const SyncSchemaResponse = z.object({
  protocol_version: z.number().int().min(1),
  entities: z.array(EntitySchema),
  schema_fingerprints: SchemaFingerprints,
});
export type SyncSchemaResponse = z.infer<typeof SyncSchemaResponse>;
