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
import { docsPage } from "./openapi-docs";
import { metricsFor } from "./sync/metrics";
import { registerSyncRoutes } from "./sync/routes";

export interface App {
  context: ServerContext;
  /** The whole REST surface as a fetch handler (uncompressed: the transport gzips): /auth, /sync, /.well-known, /openapi.json, /docs, /healthz, /readyz. */
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
  const log = options.log ?? createLogger();
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
  const context: ServerContext = { config, database, kv, keys, log, now: options.now ?? (() => new Date()) };
  await ensureFirstAdmin(context);
  const stopRevocationSync = await startRevocationSync(context);

  const router = new Router();
  registerHealthRoutes(router, context);
  registerAuthRoutes(router, context);
  registerSyncRoutes(router, context);
  const stopHousekeeping = scheduleHousekeeping(context);
  const openapi = JSON.stringify(openApiDocument());
  router.on("GET", "/openapi.json", async () => new Response(openapi, { headers: { "content-type": "application/json" } }));
  router.on("GET", "/docs", async () => new Response(docsPage(), { headers: { "content-type": "text/html; charset=utf-8" } }));

  const metrics = metricsFor(context);
  const route = async (request: Request, info: RequestInfo): Promise<Response> => {
    try {
      const url = new URL(request.url);
      const match = router.match(request.method, url.pathname);
      if (!match) throw new AppError("NOT_FOUND", `No route for ${request.method} ${url.pathname}.`);
      return await match.handler({ request, url, params: match.params, info });
    } catch (error) {
      return errorResponse(error, log);
    }
  };
  const handle = async (request: Request, info: RequestInfo = {}): Promise<Response> => {
    const response = await route(request, info);
    metrics.httpRequests.inc(1, String(response.status));
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
