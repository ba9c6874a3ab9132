import { describe } from "vitest";
import { restSuite } from "./rest-suite";

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;

describe.runIf(databaseUrl && redisUrl)("on real services", () => {
  restSuite("PostgreSQL and Redis", () => ({
    DATABASE_URL: databaseUrl ?? "",
    REDIS_URL: redisUrl ?? "",
    REDIS_KEY_PREFIX: process.env.REDIS_KEY_PREFIX ?? "console-test:",
  }));
});
