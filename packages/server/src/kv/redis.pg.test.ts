import { describe } from "vitest";
import { keyValueSuite } from "./kv-suite";
import { createRedisStore } from "./redis";

const url = process.env.REDIS_URL;
describe.runIf(url)("redis", () => {
  keyValueSuite("redis", () => createRedisStore(url ?? "", process.env.REDIS_KEY_PREFIX ?? "test:"));
});
