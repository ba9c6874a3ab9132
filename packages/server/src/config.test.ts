import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";

describe("loadConfig", () => {
  it("runs on the embedded default with no environment at all", () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.allowRegistration).toBe(true);
    expect(config.dataDir.endsWith(".data")).toBe(true);
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", REDIS_URL: " " }).databaseUrl).toBeUndefined();
  });

  it.each([
    [{ PORT: "abc" }, /PORT/],
    [{ PORT: "70000" }, /PORT/],
    [{ DATABASE_URL: "mysql://localhost/db" }, /DATABASE_URL must be a postgres:\/\/ URL/],
    [{ REDIS_URL: "http://localhost" }, /REDIS_URL must be a redis/],
    [{ ALLOW_REGISTRATION: "maybe" }, /ALLOW_REGISTRATION/],
    [{ TOKEN_SECRET: "short" }, /TOKEN_SECRET must be at least 32 characters\.$/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ METRICS_TOKEN: "short" }, /METRICS_TOKEN must be at least 16 characters\.$/],
  ])("stops with a sentence naming the variable for %j", (env, pattern) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(pattern);
  });

  it("never echoes a secret back", () => {
    try {
      loadConfig({ TOKEN_SECRET: "hunter2" });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain("hunter2");
    }
  });

  it("reads flags and numbers", () => {
    const config = loadConfig({ ALLOW_REGISTRATION: "false", PORT: "8080", ACCESS_TOKEN_TTL_SECONDS: "600" });
    expect(config.allowRegistration).toBe(false);
    expect(config.port).toBe(8080);
    expect(config.accessTokenTtlSeconds).toBe(600);
  });
});
