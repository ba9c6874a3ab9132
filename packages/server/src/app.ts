import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { AppError, openApiDocument } from "@repensar/contracts";
import { createDatabase, type DatabaseHandle } from "@repensar/db";
import { ensureFirstAdmin } from "./auth/accounts";
import { startRevocationSync } from "./auth/revocation";
import { registerAuthRoutes } from "./auth/routes";
import type { Config } from "./config";
import type { ServerContext } from "./context";
import { registerHealthRoutes } from "./health";
import { scheduleHousekeeping } from "./housekeeping";
import { respond } from "./http/node";
import { errorResponse, json } from "./http/respond";
import { Router, type RequestInfo } from "./http/router";
import { loadSigningKeys, type SigningKeys } from "./keys";
import { createMemoryStore } from "./kv/memory";
import { createRedisStore } from "./kv/redis";
import type { KeyValueStore } from "./kv/store";
import { createLogger, type Logger } from "./log";
import { registerDocsRoutes } from "./openapi-docs";
import { createSyncMetrics, type Operation } from "./sync/metrics";
import { registerSyncRoutes } from "./sync/routes";

export interface App {
  context: ServerContext;
  /**
   * The whole REST surface as a fetch handler (uncompressed but for /docs' assets: the transport
   * gzips): /auth, /sync, /.well-known, /openapi.json, /docs, /healthz, /readyz, /metrics. Every
   * answer carries `X-Request-Id`, is timed into the metrics and logged as one line.
   */
  handle(request: Request, info?: RequestInfo): Promise<Response>;
  /** `handle` for a node:http request, gzipped as a transport does (the console's server uses it). */
  respondNode(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
}

export interface AppOptions {
  log?: Logger;
  database?: DatabaseHandle;
  kv?: KeyValueStore;
  keys?: SigningKeys;
  now?: () => Date;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  const inMemory = config.dataDir.endsWith("memory");
  const database =
    options.database ??
    (await createDatabase({
      url: config.databaseUrl,
      dataDir: inMemory ? "memory://" : join(config.dataDir, "pglite"),
      poolSize: config.databasePoolSize,
    }));
  const kv = options.kv ?? (config.redisUrl ? createRedisStore(config.redisUrl, config.redisKeyPrefix) : createMemoryStore());
  const keys = options.keys ?? (await loadSigningKeys(config));
  const services = { config, database, kv, keys, log, now: options.now ?? (() => new Date()) };
  const context: ServerContext = { ...services, metrics: createSyncMetrics(services) };
  await ensureFirstAdmin(context);
  const stopRevocationSync = await startRevocationSync(context);

  const router = new Router();
  registerHealthRoutes(router, context);
  registerAuthRoutes(router, context);
  registerSyncRoutes(router, context);
  const stopHousekeeping = scheduleHousekeeping(context);
  const openapi = JSON.stringify(openApiDocument());
  router.on("GET", "/openapi.json", async () => new Response(openapi, { headers: { "content-type": "application/json" } }));
  registerDocsRoutes(router);

  const { metrics } = context;
  const handle = async (request: Request, info: RequestInfo = {}): Promise<Response> => {
    const started = performance.now();
    const requestId = requestIdOf(request);
    const observed: { operation: Operation } = { operation: "other" };
    const method = METHODS.has(request.method) ? request.method : "other";
    let route = "unmatched";
    let path = "";
    let response: Response;
    try {
      const url = new URL(request.url);
      path = url.pathname;
      const match = router.match(request.method, url.pathname);
      if (!match) throw new AppError("NOT_FOUND", `No route for ${request.method} ${url.pathname}.`);
      route = match.pattern;
      observed.operation = operationOf(route);
      response = await match.handler({ request, url, params: match.params, info, requestId, observed });
    } catch (error) {
      response = errorResponse(error, log.child({ request_id: requestId }), requestId);
    }
    response = withHeader(response, "x-request-id", requestId);
    const seconds = (performance.now() - started) / 1000;
    const status = response.status;
    metrics.requestDuration.observe({ operation: observed.operation, method, route, status: String(status) }, seconds);
    log.info("request", { request_id: requestId, method, route, path, status, duration_ms: Math.round(seconds * 1e6) / 1e3 });
    return response;
  };

  return {
    context,
    handle,
    respondNode: (req, res) => respond(handle, req, res),
    close: async () => {
      stopHousekeeping();
      await stopRevocationSync();
      await kv.close();
      if (!options.database) await database.close();
    },
  };
}

export { json };

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** A client's `X-Request-Id` is kept when it is a short token (so it cannot forge log lines); otherwise one is made. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

function requestIdOf(request: Request): string {
  const sent = request.headers.get("x-request-id");
  return sent !== null && SANE_REQUEST_ID.test(sent) ? sent : randomUUID();
}

function operationOf(route: string): Operation {
  if (route === "/sync/push") return "push";
  if (route === "/sync/pull") return "pull";
  if (route === "/sync/events") return "events";
  if (route.startsWith("/auth/")) return "auth";
  return "other";
}

/** Sets a header, on a copy when the response's headers are immutable (one that came from `fetch`). */
function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}
