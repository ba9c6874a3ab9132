import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { App } from "../app";
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
export function handleTrpcRequest(app: App, request: Request, transport: RequestInfo): Promise<Response> {
  return fetchRequestHandler({
    endpoint: TRPC_ENDPOINT,
    req: request,
    router: appRouter,
    createContext: ({ req, resHeaders, info }) => createTrpcContext(app.context, { req, resHeaders, info, transport }),
    onError: ({ error }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") app.context.log.error("console request failed", { error: error.cause ?? error });
    },
  });
}
