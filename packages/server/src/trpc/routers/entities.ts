import { browseEntities, EntityBrowseQuery } from "../../sync/console";
import { router, userProcedure } from "../init";

/** The organization's rows, one entity type at a time. */
export const entitiesRouter = router({
  browse: userProcedure.input(EntityBrowseQuery).query(({ ctx, input }) => browseEntities(ctx.ctx, ctx.principal, input)),
});
