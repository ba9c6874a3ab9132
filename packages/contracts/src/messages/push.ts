import { z } from "zod";
import { ValidationIssue } from "../errors";
import { ResolutionPolicy } from "../entities";
import { ClientInstant, DeviceId, PlainObject, Timestamp } from "./common";
import { OperationSchema } from "./pull";

export const MAX_PUSH_CHANGES = 1000;

/**
 * One local change. `version` is the server version it is based on (0 for CREATE).
 * `data` is checked field by field against its entity by the server (see `validateEntityData`):
 * a bad field fails that change only, not the request.
 */
export const PushChange = z.object({
  entity_type: z.string().min(1).max(64),
  /**
   * Bounded here, and held to `isStorableText` per change by the server (as `data` is): one
   * change with an id PostgreSQL cannot store fails alone, the rest of the batch still applies.
   */
  entity_id: z.string().min(1).max(128),
  operation: OperationSchema,
  data: PlainObject,
  version: z.number().int().min(0),
  modified_at: ClientInstant.optional(),
  modified_by_device_id: z.string().max(128).nullable().optional(),
  /** Ours: a client UUID that makes a replayed change answer its first answer. */
  change_id: z.uuid().optional(),
});
export type PushChange = z.infer<typeof PushChange>;

/** `POST /sync/push`. */
export const PushRequest = z.object({
  device_id: DeviceId,
  changes: z.array(PushChange).max(MAX_PUSH_CHANGES),
  /** Ours: all changes apply, or none does. */
  atomic: z.boolean().optional(),
});
export type PushRequest = z.infer<typeof PushRequest>;

export const PushResultStatus = { Applied: "applied", Conflict: "conflict", Failed: "failed" } as const;
export type PushResultStatus = (typeof PushResultStatus)[keyof typeof PushResultStatus];

/** Ours: what became of one pushed change, in request order. */
export const PushResult = z.object({
  change_id: z.string().optional(),
  entity_type: z.string(),
  entity_id: z.string(),
  status: z.enum([PushResultStatus.Applied, PushResultStatus.Conflict, PushResultStatus.Failed]),
  /** The row's version after an applied change. */
  version: z.number().int().min(0).optional(),
  conflict_id: z.string().optional(),
  /**
   * Ours: true when the change was based on an older version and the server merged it with the edits
   * made since (the fields it changed were untouched by them); `version` is the merged row's.
   */
  merged: z.boolean().optional(),
  /** Ours: with `merged`, the row as the merge left it (the wire's `data`), so the client holds what the server holds. */
  data: z.record(z.string(), z.unknown()).optional(),
  error: z.object({ code: z.string(), detail: z.union([z.string(), z.array(ValidationIssue)]) }).optional(),
});
export type PushResult = z.infer<typeof PushResult>;

/** Why a pushed change could not be applied as it stands. */
export const ConflictType = {
  /** An UPDATE based on a version the row has since moved past. */
  VersionMismatch: "version_mismatch",
  /** The server deleted the row; the client edited it. */
  UpdateOnDeleted: "update_on_deleted",
  /** The client deleted a row that has moved on since. */
  DeleteOnModified: "delete_on_modified",
  /** The client created an id that exists with other data. */
  CreateExists: "create_exists",
} as const;
export type ConflictType = (typeof ConflictType)[keyof typeof ConflictType];
export const ConflictTypeSchema = z.enum([
  ConflictType.VersionMismatch,
  ConflictType.UpdateOnDeleted,
  ConflictType.DeleteOnModified,
  ConflictType.CreateExists,
]);

/** How a conflict is resolved at `POST /sync/conflicts/{conflict_id}/resolve`. */
export const ConflictResolution = { ClientWins: "client_wins", ServerWins: "server_wins", Manual: "manual" } as const;
export type ConflictResolution = (typeof ConflictResolution)[keyof typeof ConflictResolution];
export const ConflictResolutionSchema = z.enum([
  ConflictResolution.ClientWins,
  ConflictResolution.ServerWins,
  ConflictResolution.Manual,
]);

/**
 * What the entity's policy suggests: a resolution, or `last_write_wins` / `merge`, which a client
 * carries out itself and submits as the resolution it amounts to.
 */
export const SuggestedResolutionSchema = z.enum([
  ConflictResolution.ClientWins,
  ConflictResolution.ServerWins,
  ConflictResolution.Manual,
  ResolutionPolicy.LastWriteWins,
  ResolutionPolicy.Merge,
]);
export type SuggestedResolution = z.infer<typeof SuggestedResolutionSchema>;

/** The source's conflict object, as push returns it and `GET /sync/conflicts` lists it. */
export const ConflictData = z.object({
  conflict_id: z.string(),
  entity_type: z.string(),
  entity_id: z.string(),
  client_version: z.number().int().min(0),
  server_version: z.number().int().min(0),
  client_data: z.record(z.string(), z.unknown()),
  server_data: z.record(z.string(), z.unknown()),
  /**
   * Ours: the row at `client_version`, the base both sides started from, when the server's history
   * still holds it; with it a client or the console can show a three-way view.
   */
  base_data: z.record(z.string(), z.unknown()).nullable().optional(),
  client_modified_at: Timestamp.nullable(),
  server_modified_at: Timestamp.nullable(),
  conflict_type: ConflictTypeSchema,
  suggested_resolution: SuggestedResolutionSchema,
  /** Ours: the device whose push caused it. */
  device_id: z.string().optional(),
  /** Ours: when it was recorded. */
  created_at: Timestamp.optional(),
  /** Ours: how and when it was resolved; null while unresolved. */
  resolution: ConflictResolutionSchema.nullable().optional(),
  resolved_at: Timestamp.nullable().optional(),
});
export type ConflictData = z.infer<typeof ConflictData>;

export const PushResponse = z.object({
  applied: z.number().int().min(0),
  conflicts: z.array(ConflictData),
  failed: z.number().int().min(0),
  /** The device's pull position as of its last pull: storing it skips nothing. */
  sync_token: z.string(),
  /** Ours: one entry per pushed change, in order. */
  results: z.array(PushResult).optional(),
});
export type PushResponse = z.infer<typeof PushResponse>;
