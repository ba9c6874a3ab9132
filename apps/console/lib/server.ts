import "server-only";
import { createApp, loadConfig, readEnvironment, type App } from "@repensar/server";

// One app per process, shared by every route handler (and kept across hot reloads in dev).
const holder = globalThis as typeof globalThis & { __repensarApp?: Promise<App> };

export function getApp(): Promise<App> {
  holder.__repensarApp ??= createApp(loadConfig(readEnvironment()));
  return holder.__repensarApp;
}

/** A route handler that hands the request to the REST surface. */
export async function forward(request: Request): Promise<Response> {
  const app = await getApp();
  return app.handle(request, { remoteAddress: request.headers.get("x-repensar-remote-address") ?? undefined });
}
