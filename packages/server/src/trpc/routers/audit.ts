import { AuditQuery, queryAuditLog } from "../../sync/console";
import { router, userProcedure } from "../init";

/** The audit log: members their own events, admins the organization's. */
export const auditRouter = router({
  list: userProcedure.input(AuditQuery.default({ limit: 50, offset: 0 })).query(({ ctx, input }) => queryAuditLog(ctx.ctx, ctx.principal, input)),
});
