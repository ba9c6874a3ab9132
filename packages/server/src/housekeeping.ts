import { purgeExpiredAuthState } from "./auth/housekeeping";
import type { ServerContext } from "./context";
import { purgeTombstones } from "./sync/tombstones";

/** Everything that ages out: tombstones and idempotency records, expired sign-in state. */
export async function runHousekeeping(ctx: ServerContext): Promise<void> {
  const tombstones = await purgeTombstones(ctx);
  const auth = await purgeExpiredAuthState(ctx);
  ctx.log.info("housekeeping done", { ...tombstones, ...auth });
}

/** Runs `runHousekeeping` every `intervalMs` without keeping the process alive; returns the stop. */
export function scheduleHousekeeping(ctx: ServerContext, intervalMs = 60 * 60 * 1000): () => void {
  const timer = setInterval(() => {
    runHousekeeping(ctx).catch((error: unknown) => ctx.log.error("housekeeping failed", { error }));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
