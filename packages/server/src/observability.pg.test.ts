import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./testing/harness";

describe("/metrics on PostgreSQL and Redis", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("reports the pool's connections by state and whether Redis is connected", async () => {
    expect(server.app.context.database.driver).toBe("postgres");
    await server.fetch("/readyz");
    const text = await (await server.fetch("/metrics")).text();
    expect(text).toMatch(/^repensar_db_pool_max [1-9]\d*$/m);
    // At least the connection that asked is open, and was active while it asked.
    expect(text).toMatch(/^repensar_db_connections\{state="active"\} [1-9]\d*$/m);
    if (server.app.context.kv.kind === "redis") expect(text).toMatch(/^repensar_redis_connected 1$/m);
  });
});
