// Gives every *.pg.test.ts file a PostgreSQL database of its own, created from
// DATABASE_URL and dropped after the file, and a Redis key prefix of its own.
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll } from "vitest";

const base = process.env.DATABASE_URL;
if (base) {
  const name = `t_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  process.env.DATABASE_URL = url.toString();
  process.env.TEST_BASE_DATABASE_URL = base;
  afterAll(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
}
if (process.env.REDIS_URL) {
  process.env.REDIS_KEY_PREFIX = `t_${randomBytes(4).toString("hex")}:`;
}
