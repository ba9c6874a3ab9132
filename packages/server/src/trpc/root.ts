import { router } from "./init";
import { auditRouter } from "./routers/audit";
import { authRouter } from "./routers/auth";
import { conflictsRouter } from "./routers/conflicts";
import { devicesRouter } from "./routers/devices";
import { entitiesRouter } from "./routers/entities";
import { membersRouter } from "./routers/members";
import { syncRouter } from "./routers/sync";

/** One router per domain. */
export const appRouter = router({
  auth: authRouter,
  devices: devicesRouter,
  members: membersRouter,
  conflicts: conflictsRouter,
  sync: syncRouter,
  audit: auditRouter,
  entities: entitiesRouter,
});

export type AppRouter = typeof appRouter;
