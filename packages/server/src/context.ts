import type { DatabaseHandle } from "@repensar/db";
import type { Config } from "./config";
import type { SigningKeys } from "./keys";
import type { KeyValueStore } from "./kv/store";
import type { Logger } from "./log";

/** Everything a service needs, created once per process by `createApp`. */
export interface ServerContext {
  config: Config;
  database: DatabaseHandle;
  kv: KeyValueStore;
  keys: SigningKeys;
  log: Logger;
  /** The clock; tests move it. */
  now: () => Date;
}
