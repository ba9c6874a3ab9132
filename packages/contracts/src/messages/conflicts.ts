import { z } from "zod";
import { DeviceId, EntityId, PlainObject, queryBoolean, queryInteger } from "./common";
import { ConflictData, ConflictResolution, ConflictResolutionSchema } from "./push";

/** `GET /sync/conflicts` query. */
export const ConflictListQuery = z.object({
  device_id: DeviceId.optional(),
  unresolved_only: queryBoolean(true),
  /** Ours: paging; `total` still counts every match. */
  limit: queryInteger(1, 500, 100),
  offset: queryInteger(0, Number.MAX_SAFE_INTEGER, 0),
});
export type ConflictListQuery = z.infer<typeof ConflictListQuery>;

export const ConflictListResponse = z.object({
  conflicts: z.array(ConflictData),
  /** Every conflict matching the filters, not only this page. */
  total: z.number().int().min(0),
  /** How many of those are unresolved. */
  unresolved: z.number().int().min(0),
});
export type ConflictListResponse = z.infer<typeof ConflictListResponse>;

/**
 * `POST /sync/conflicts/{conflict_id}/resolve`. `manual` needs the merged row, in one of two forms:
 * `merged_data`, the row's fields as a whole (validated against the entity as a whole; absent fields
 * become null), or `merged_fields`, only the fields the merge changes (each validated; the others keep
 * the server's values). The second lets a merge stand on a server row that an old value keeps from
 * meeting a rule tightened since, as long as the merge itself does not touch that value. The other
 * resolutions take neither.
 */
export const ResolveConflictRequest = z
  .object({
    resolution: ConflictResolutionSchema,
    merged_data: PlainObject.nullable().optional(),
    merged_fields: PlainObject.nullable().optional(),
  })
  .superRefine((request, ctx) => {
    const hasData = request.merged_data != null;
    const hasFields = request.merged_fields != null;
    if (request.resolution === ConflictResolution.Manual && !hasData && !hasFields) {
      ctx.addIssue({ code: "custom", path: ["merged_data"], message: "merged_data (or merged_fields) is required for a 'manual' resolution" });
    }
    if (hasData && hasFields) {
      ctx.addIssue({ code: "custom", path: ["merged_fields"], message: "send merged_data or merged_fields, not both" });
    }
    for (const [given, name] of [[hasData, "merged_data"], [hasFields, "merged_fields"]] as const) {
      if (request.resolution !== ConflictResolution.Manual && given) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `${name} is only used with 'manual', not '${request.resolution}'`,
        });
      }
    }
  });
export type ResolveConflictRequest = z.infer<typeof ResolveConflictRequest>;

export const ResolveConflictResponse = z.object({
  message: z.string(),
  conflict_id: z.string(),
  resolution: ConflictResolutionSchema,
  entity_type: z.string(),
  entity_id: EntityId,
  /** Ours: the row's version afterwards (unchanged for `server_wins`). */
  version: z.number().int().min(0).optional(),
});
export type ResolveConflictResponse = z.infer<typeof ResolveConflictResponse>;
