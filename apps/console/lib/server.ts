import "server-only";
import { createApp, loadConfig, readEnvironment, type App, type RequestInfo } from "@repensar/server";

// One app per process, shared by every route handler (and kept across hot reloads in dev).
const holder = globalThis as typeof globalThis & { __repensarApp?: Promise<App> };

export function getApp(): Promise<App> {
  holder.__repensarApp ??= createApp(loadConfig(readEnvironment()));
  return holder.__repensarApp;
}

/**
 * The peer address, as scripts/serve.mjs read it off the socket (it overwrites whatever a
 * client sent in this header).
 */
export function transportOf(request: Request): RequestInfo {
  return { remoteAddress: request.headers.get("x-repensar-remote-address") ?? undefined };
}

/** A route handler that hands the request to the REST surface. */
export async function forward(request: Request): Promise<Response> {
  const app = await getApp();
  return app.handle(request, transportOf(request));
}
