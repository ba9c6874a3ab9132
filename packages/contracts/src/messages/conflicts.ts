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
 * `POST /sync/conflicts/{conflict_id}/resolve`. `manual` needs `merged_data` (the row's fields as a
 * whole, validated against the entity); the other resolutions take none.
 */
export const ResolveConflictRequest = z
  .object({
    resolution: ConflictResolutionSchema,
    merged_data: PlainObject.nullable().optional(),
  })
  .superRefine((request, ctx) => {
    const hasData = request.merged_data != null;
    if (request.resolution === ConflictResolution.Manual && !hasData) {
      ctx.addIssue({ code: "custom", path: ["merged_data"], message: "merged_data is required for a 'manual' resolution" });
    }
    if (request.resolution !== ConflictResolution.Manual && hasData) {
      ctx.addIssue({
        code: "custom",
        path: ["merged_data"],
        message: `merged_data is only used with 'manual', not '${request.resolution}'`,
      });
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
