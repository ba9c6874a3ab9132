import { z } from "zod";
import { isEntityType } from "../entities";
import { SchemaFingerprints } from "./schema";
import { DeviceId, EntityId, SyncToken, Text, Timestamp, instantOutOfRangeIssue, isStorableInstant, isoInstantMs } from "./common";

export const Operation = { Create: "CREATE", Update: "UPDATE", Delete: "DELETE" } as const;
export type Operation = (typeof Operation)[keyof typeof Operation];
export const OperationSchema = z.enum([Operation.Create, Operation.Update, Operation.Delete]);

export const MAX_PULL_LIMIT = 1000;
export const DEFAULT_PULL_LIMIT = 100;
/** More names than there could ever be entity types: a bound, not a policy. */
const MAX_ENTITY_TYPES = 100;

/** The names in `entityTypes` that are not entity types this contract defines. */
export function unknownEntityTypes(entityTypes: readonly string[]): string[] {
  return entityTypes.filter((name) => !isEntityType(name));
}

/**
 * `POST /sync/pull`. `entity_types` is kept as plain strings so a client on an older or newer
 * contract still parses; `PullRequestWithKnownTypes` (or `unknownEntityTypes`) is the server's check.
 */
export const PullRequest = z.object({
  device_id: DeviceId,
  entity_types: z.array(Text.min(1).max(64)).min(1).max(MAX_ENTITY_TYPES),
  /** A `sync_token` from an earlier pull, an ISO-8601 timestamp (the source's clients), or null for a full sync. */
  since: SyncToken.refine(
    (value) => {
      const ms = isoInstantMs(value);
      return ms === undefined || isStorableInstant(ms);
    },
    { message: instantOutOfRangeIssue.msg, params: { type: instantOutOfRangeIssue.type } },
  )
    .nullable()
    .optional(),
  /** Max changes per entity type. */
  limit: z.number().int().min(1).max(MAX_PULL_LIMIT).default(DEFAULT_PULL_LIMIT),
});
export type PullRequest = z.infer<typeof PullRequest>;

/**
 * `PullRequest` that also refuses unknown entity types, one issue per unknown name. The server skips
 * unknown types when the pull names at least one it knows, and refuses with these issues otherwise.
 */
export const PullRequestWithKnownTypes = PullRequest.superRefine((request, ctx) => {
  request.entity_types.forEach((name, index) => {
    if (!isEntityType(name)) {
      ctx.addIssue({
        code: "custom",
        path: ["entity_types", index],
        message: `Unknown entity type '${name}'`,
        params: { type: "unknown_entity_type" },
      });
    }
  });
});

/** One row's change, as pulled. For DELETE, `data` is `{}`. */
export const EntityChange = z.object({
  entity_type: z.string(),
  entity_id: EntityId,
  operation: OperationSchema,
  data: z.record(z.string(), z.unknown()),
  /** The row's version after this change. */
  version: z.number().int().min(0),
  modified_at: Timestamp,
  modified_by_device_id: z.string().nullable(),
});
export type EntityChange = z.infer<typeof EntityChange>;

export const PullResponse = z.object({
  changes: z.array(EntityChange),
  /** Store it and send it as `since` next time; opaque. */
  sync_token: z.string(),
  /** True while any requested entity type has more changes: pull again with the new token. */
  has_more: z.boolean(),
  total_changes: z.number().int().min(0),
  /** Fingerprint of each requested type's definition (see `GET /sync/schema`); optional, as older servers omit it. */
  schema_fingerprints: SchemaFingerprints.optional(),
  /**
   * Requested types this server does not sync (a client newer than its server), left out of the page
   * rather than failing the whole pull; absent when there were none.
   */
  skipped_entity_types: z.array(z.string()).optional(),
});
export type PullResponse = z.infer<typeof PullResponse>;
