import { request } from "node:http";
import { openTestDatabase } from "@repensar/db/testing";
import { createApp, type App, type AppOptions } from "../app";
import { testConfig, type Config } from "../config";
import { serveFetch, type RunningServer } from "../http/node";
import { createMemoryStore } from "../kv/memory";
import { createRedisStore } from "../kv/redis";
import { createLogger } from "../log";
import { readEnvironment } from "../env";

export interface TestServer {
  app: App;
  http: RunningServer;
  url: string;
  /** `fetch` against the server, path relative to its root. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The app over real HTTP on a free loopback port. On PGlite and an in-process store unless the
 * pg test project set DATABASE_URL / REDIS_URL (then each test file has its own database).
 */
export async function startTestServer(overrides: Partial<Config> = {}, options: AppOptions = {}): Promise<TestServer> {
  const env = readEnvironment();
  const database = options.database ?? (await openTestDatabase());
  const kv =
    options.kv ?? (env.REDIS_URL ? createRedisStore(env.REDIS_URL, env.REDIS_KEY_PREFIX ?? "test:") : createMemoryStore());
  const app = await createApp(testConfig(overrides), { log: createLogger("silent"), ...options, database, kv });
  const http = await serveFetch((request, info) => app.handle(request, info));
  return {
    app,
    http,
    url: http.url,
    fetch: (path, init) => fetch(`${http.url}${path}`, init),
    close: async () => {
      await http.close();
      await app.close();
      if (!options.database) await database.close();
    },
  };
}

/** A POST on a connection of its own, answering the status: the server closes it after refusing an oversized body. */
export function statusOnOwnConnection(url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export { freePort as freeServicePort, hasCommand, startThrowawayPostgres, startThrowawayRedis, type ThrowawayServer } from "./services";
/** For tests that upgrade a server's database the way a release does (see the schema upgrade drill). */
export { applyStatements, migrationBetween, openTestDatabase } from "@repensar/db/testing";
export { schema as databaseSchema } from "@repensar/db";
