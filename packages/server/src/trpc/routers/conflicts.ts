import { ConflictResolutionSchema, ConflictTypeSchema, DeviceId, EntityTypeSchema, PlainObject, Text } from "@repensar/contracts";
import { z } from "zod";
import { getConflict, listConflicts, resolveConflict } from "../../sync/conflicts";
import { countMerges, MergeCountQuery } from "../../sync/history";
import { router, userProcedure } from "../init";

export const ConflictFilterInput = z
  .object({
    deviceId: DeviceId.optional(),
    unresolvedOnly: z.boolean().default(true),
    entityType: EntityTypeSchema.optional(),
    conflictType: ConflictTypeSchema.optional(),
    limit: z.number().int().min(1).max(500).default(50),
    offset: z.number().int().min(0).default(0),
  })
  .default({ unresolvedOnly: true, limit: 50, offset: 0 });

export const ResolveInput = z.object({
  conflictId: Text.min(1).max(64),
  resolution: ConflictResolutionSchema,
  mergedData: PlainObject.nullable().optional(),
  /** Only the fields the merge changes; the others keep the server's values. */
  mergedFields: PlainObject.nullable().optional(),
});

/** Conflicts: members their own devices', admins the whole organization's (the services scope them). */
export const conflictsRouter = router({
  list: userProcedure.input(ConflictFilterInput).query(({ ctx, input }) =>
    listConflicts(ctx.ctx, ctx.principal, {
      device_id: input.deviceId,
      unresolved_only: input.unresolvedOnly,
      entity_type: input.entityType,
      conflict_type: input.conflictType,
      limit: input.limit,
      offset: input.offset,
    }),
  ),
  /** Stale changes merged by the server beside conflicts recorded, in a period. */
  mergeCounts: userProcedure.input(MergeCountQuery).query(({ ctx, input }) => countMerges(ctx.ctx, ctx.principal, input)),
  get: userProcedure
    .input(z.object({ conflictId: Text.min(1).max(64) }))
    .query(({ ctx, input }) => getConflict(ctx.ctx, ctx.principal, input.conflictId)),
  resolve: userProcedure
    .input(ResolveInput)
    .mutation(({ ctx, input }) =>
      resolveConflict(ctx.ctx, ctx.principal, input.conflictId, {
        resolution: input.resolution,
        merged_data: input.mergedData ?? null,
        merged_fields: input.mergedFields ?? null,
      }),
    ),
});
