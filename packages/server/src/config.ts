import { resolve } from "node:path";
import { z } from "zod";

/** Raised at start when a variable is invalid; its message is one sentence naming the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

// Unset and empty mean the same: compose files and CI often export `VAR=`.
const blankToUndefined = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());
const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess(blankToUndefined, schema.default(fallback as never));

const flag = z.union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"])]).transform((v) => v === true || v === "true" || v === "1" || v === "yes");
const positiveInt = z.coerce.number().int().positive();

const EnvSchema = z.object({
  PORT: withDefault(z.coerce.number().int().min(1).max(65_535), 3000),
  DATA_DIR: withDefault(z.string(), ".data"),
  DATABASE_URL: optional(z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// URL" })),
  DATABASE_POOL_SIZE: withDefault(positiveInt.max(500), 10),
  REDIS_URL: optional(z.url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" })),
  REDIS_KEY_PREFIX: withDefault(z.string().max(100), "repensar:"),
  /** PKCS#8 PEM of an Ed25519 key; generated and kept in DATA_DIR when unset. */
  JWT_PRIVATE_KEY: optional(z.string().includes("PRIVATE KEY", { error: "must be a PKCS#8 PEM private key" })),
  /** Secret for sync tokens and refresh-token derivation (>= 32 bytes); generated when unset. */
  TOKEN_SECRET: optional(z.string().min(32, { error: "must be at least 32 characters" })),
  JWT_ISSUER: withDefault(z.string().min(1), "repensar-sync"),
  JWT_AUDIENCE: withDefault(z.string().min(1), "repensar-sync-api"),
  ACCESS_TOKEN_TTL_SECONDS: withDefault(positiveInt.min(30).max(86_400), 1800),
  REFRESH_TOKEN_TTL_DAYS: withDefault(positiveInt.max(365), 30),
  ALLOW_REGISTRATION: withDefault(flag, true),
  TRUST_PROXY: withDefault(flag, false),
  /** Public origin of the console (`https://sync.example.org`), for cookie and Origin checks. */
  PUBLIC_ORIGIN: optional(z.url()),
  TOMBSTONE_RETENTION_DAYS: withDefault(positiveInt.max(3650), 90),
  MAX_BODY_BYTES: withDefault(positiveInt.max(1024 * 1024 * 1024), 10 * 1024 * 1024),
  LOGIN_MAX_ATTEMPTS: withDefault(positiveInt.max(10_000), 10),
  LOGIN_WINDOW_SECONDS: withDefault(positiveInt.max(86_400), 900),
  ADMIN_EMAIL: optional(z.email()),
  ADMIN_PASSWORD: optional(z.string().min(8)),
  LOG_LEVEL: withDefault(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], { error: "must be one of fatal, error, warn, info, debug, trace, silent" }), "info"),
  /** When set, `GET /metrics` answers only requests bearing it (`Authorization: Bearer …`). */
  METRICS_TOKEN: optional(z.string().min(16, { error: "must be at least 16 characters" })),
  NODE_ENV: optional(z.string()),
});

export interface Config {
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  jwtPrivateKeyPem: string | undefined;
  tokenSecret: string | undefined;
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  allowRegistration: boolean;
  trustProxy: boolean;
  publicOrigin: string | undefined;
  tombstoneRetentionDays: number;
  maxBodyBytes: number;
  loginMaxAttempts: number;
  loginWindowSeconds: number;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  logLevel: LogLevel;
  metricsToken: string | undefined;
  production: boolean;
}

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** Validates the environment once, at start. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const name = String(first?.path[0] ?? "environment");
    const got = env[name];
    const shown = name.includes("KEY") || name.includes("SECRET") || name.includes("PASSWORD") || name.includes("TOKEN") ? "" : ` (got ${JSON.stringify(got)})`;
    throw new ConfigError(`Invalid configuration: ${name} ${describe(first?.message)}${shown}.`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    dataDir: resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    jwtPrivateKeyPem: e.JWT_PRIVATE_KEY,
    tokenSecret: e.TOKEN_SECRET,
    jwtIssuer: e.JWT_ISSUER,
    jwtAudience: e.JWT_AUDIENCE,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlDays: e.REFRESH_TOKEN_TTL_DAYS,
    allowRegistration: e.ALLOW_REGISTRATION,
    trustProxy: e.TRUST_PROXY,
    publicOrigin: e.PUBLIC_ORIGIN,
    tombstoneRetentionDays: e.TOMBSTONE_RETENTION_DAYS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    loginMaxAttempts: e.LOGIN_MAX_ATTEMPTS,
    loginWindowSeconds: e.LOGIN_WINDOW_SECONDS,
    adminEmail: e.ADMIN_EMAIL,
    adminPassword: e.ADMIN_PASSWORD,
    logLevel: e.LOG_LEVEL,
    metricsToken: e.METRICS_TOKEN,
    production: e.NODE_ENV === "production",
  };
}

function describe(message: string | undefined): string {
  if (!message) return "is invalid";
  const m = message.replace(/^Invalid input: /, "");
  if (/^(must|is|should)\b/.test(m)) return m;
  return `is invalid: ${m.charAt(0).toLowerCase()}${m.slice(1)}`;
}

/** A configuration for tests: embedded defaults, overridable field by field. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({ DATA_DIR: "memory" }), ...overrides };
}
