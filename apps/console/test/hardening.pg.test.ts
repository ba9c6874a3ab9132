import { describe } from "vitest";
import { hardeningSuite } from "./hardening-suite";

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;

describe.runIf(databaseUrl && redisUrl)("on real services", () => {
  hardeningSuite("PostgreSQL and Redis", () => ({
    DATABASE_URL: databaseUrl ?? "",
    REDIS_URL: redisUrl ?? "",
    REDIS_KEY_PREFIX: process.env.REDIS_KEY_PREFIX ?? "hardening-test:",
  }));
});
