import type { ServerContext } from "../context";
import type { Router } from "../http/router";

/** /sync/pull, /sync/push, /sync/conflicts, /sync/status, /sync/events. */
export function registerSyncRoutes(_router: Router, _ctx: ServerContext): void {}
