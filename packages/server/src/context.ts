import type { DatabaseHandle } from "@repensar/db";
import type { Config } from "./config";
import type { SigningKeys } from "./keys";
import type { KeyValueStore } from "./kv/store";
import type { Logger } from "./log";
import type { SyncMetrics } from "./sync/metrics";

/** Everything a service needs, created once per process by `createApp`. */
export interface ServerContext {
  config: Config;
  database: DatabaseHandle;
  kv: KeyValueStore;
  keys: SigningKeys;
  log: Logger;
  /** The clock; tests move it. */
  now: () => Date;
  /** This app's metrics (`/metrics`, the dashboard's latencies); one registry per app. */
  metrics: SyncMetrics;
}
