import { DeviceId } from "@repensar/contracts";
import { z } from "zod";
import { ActivityQuery, deviceSyncStatuses, syncActivity } from "../../sync/console";
import { latencySummary } from "../../sync/metrics";
import { syncStatus } from "../../sync/status";
import { adminProcedure, router, userProcedure } from "../init";

/** Per-device sync status and sync activity over time, for the console's dashboard. */
export const syncRouter = router({
  status: userProcedure.input(z.object({ deviceId: DeviceId })).query(({ ctx, input }) => syncStatus(ctx.ctx, ctx.principal, input.deviceId)),
  statuses: userProcedure.query(({ ctx }) => deviceSyncStatuses(ctx.ctx, ctx.principal)),
  activity: userProcedure.input(ActivityQuery).query(({ ctx, input }) => syncActivity(ctx.ctx, ctx.principal, input)),
  /** p50/p99 of this instance's push, pull and empty-poll latencies since it started, from `/metrics`' histograms. */
  latency: adminProcedure.query(({ ctx }) => latencySummary(ctx.ctx, ["push", "pull", "empty_poll"])),
});
