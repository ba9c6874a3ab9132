import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRedisStore } from "../kv/redis";
import { hasCommand, startTestServer, startThrowawayRedis, type TestServer, type ThrowawayServer } from "../testing/harness";
import { publishPoke } from "./events";
import { createActor, type SyncActor } from "./testing";

/** What a stream has said so far, read in the background until it is cancelled. */
function follow(response: Response): { text: () => string; cancel: () => Promise<void> } {
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let text = "";
  void (async () => {
    for (;;) {
      const next = await reader?.read().catch(() => undefined);
      if (!next || next.done) return;
      text += decoder.decode(next.value);
    }
  })();
  return { text: () => text, cancel: async () => void (await reader?.cancel().catch(() => {})) };
}

/**
 * `GET /sync/events` through a Redis of the test's own, stopped and started again: streams recover
 * by themselves once it is back, and one asked for while pub/sub is unreachable is a clean 503.
 */
describe.runIf(process.env.REDIS_URL && hasCommand("redis-server"))("the event stream while Redis goes away and comes back", () => {
  let redis: ThrowawayServer;
  let server: TestServer;
  let actor: SyncActor;
  const streams: { cancel: () => Promise<void> }[] = [];

  beforeEach(async () => {
    redis = await startThrowawayRedis();
    server = await startTestServer({}, { kv: createRedisStore(redis.url, "events-test:") });
    actor = await createActor(server);
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) await stream.cancel();
    await server.close();
    await redis.dispose();
  });

  const open = () => actor.get("/sync/events");
  /** Publishes until the stream has heard a poke: publishing fails until the store has reconnected. */
  const pokeUntilHeard = async (stream: { text: () => string }) => {
    await expect
      .poll(
        async () => {
          await publishPoke(server.app.context, actor.orgId, ["volunteer"]);
          return stream.text();
        },
        { timeout: 30_000, interval: 250 },
      )
      .toContain("event: poke");
  };

  it("keeps a stream opened before the outage, and delivers pokes again once Redis is back", async () => {
    const res = await open();
    expect(res.status).toBe(200);
    const stream = follow(res);
    streams.push(stream);
    await expect.poll(() => stream.text()).toContain("event: ready");

    await redis.stop();
    await redis.start();
    await pokeUntilHeard(stream);
  });

  it("answers a stream asked for during the outage with a clean 503, and serves new streams once Redis is back", async () => {
    await redis.stop();
    const refused = await open();
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ code: "SERVICE_UNAVAILABLE" });

    await redis.start();
    // Until the store has reconnected a new stream may still be refused, never for good.
    let res = await open();
    for (let attempt = 0; res.status === 503 && attempt < 120; attempt++) {
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 250));
      res = await open();
    }
    expect(res.status).toBe(200);
    const stream = follow(res);
    streams.push(stream);
    await expect.poll(() => stream.text()).toContain("event: ready");
    await pokeUntilHeard(stream);
  });
});
