import type { ServerContext } from "../context";
import type { Router } from "../http/router";

/** /auth/*, /.well-known/jwks.json and /sync/device/*. */
export function registerAuthRoutes(_router: Router, _ctx: ServerContext): void {}
