import { router } from "./init";
import { authRouter } from "./routers/auth";
import { devicesRouter } from "./routers/devices";
import { membersRouter } from "./routers/members";

/** One router per domain. */
export const appRouter = router({
  auth: authRouter,
  devices: devicesRouter,
  members: membersRouter,
});

export type AppRouter = typeof appRouter;
