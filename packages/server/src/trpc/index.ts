import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { App } from "../app";
import { withBodyLimit } from "../http/body";
import { errorResponse } from "../http/respond";
import type { RequestInfo } from "../http/router";
import { createTrpcContext } from "./context";
import { createCallerFactory } from "./init";
import { appRouter } from "./root";

export { appRouter, type AppRouter } from "./root";
export { createInnerTrpcContext, createTrpcContext, type TrpcContextOptions } from "./context";
export { adminProcedure, publicProcedure, router, userProcedure, type TrpcContext } from "./init";

export const TRPC_ENDPOINT = "/api/trpc";

/** Calls the routers directly, with a context from `createInnerTrpcContext` or `createTrpcContext`. */
export const createCaller = createCallerFactory(appRouter);

/**
 * The console's tRPC endpoint (`/api/trpc`) as a fetch handler. `transport` carries the peer
 * address: without it every console request would share one sign-in rate-limit bucket.
 */
export async function handleTrpcRequest(app: App, request: Request, transport: RequestInfo): Promise<Response> {
  let req: Request;
  try {
    req = await withBodyLimit(request, app.context.config.maxBodyBytes);
  } catch (error) {
    return errorResponse(error, app.context.log);
  }
  return fetchRequestHandler({
    endpoint: TRPC_ENDPOINT,
    req,
    router: appRouter,
    createContext: ({ req, resHeaders, info }) => createTrpcContext(app.context, { req, resHeaders, info, transport }),
    onError: ({ error }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") app.context.log.error("console request failed", { error: error.cause ?? error });
    },
  });
}
