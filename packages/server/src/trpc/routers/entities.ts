import { browseEntities, EntityBrowseQuery } from "../../sync/console";
import { HistoryQuery, listHistory, restoreVersion, RestoreInput } from "../../sync/history";
import { adminProcedure, router, userProcedure } from "../init";

/** The organization's rows, one entity type at a time, and each row's versions. */
export const entitiesRouter = router({
  browse: userProcedure.input(EntityBrowseQuery).query(({ ctx, input }) => browseEntities(ctx.ctx, ctx.principal, input)),
  history: userProcedure.input(HistoryQuery).query(({ ctx, input }) => listHistory(ctx.ctx, ctx.principal, input)),
  /** A new version with a past version's fields; admins only, as it rewrites what every device holds. */
  restore: adminProcedure.input(RestoreInput).mutation(({ ctx, input }) => restoreVersion(ctx.ctx, ctx.principal, input)),
});
