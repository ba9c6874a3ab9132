import { Redis } from "ioredis";
import type { KeyValueStore } from "./store";

/** DECR that neither creates a key (it would live forever without a TTL) nor goes below zero. */
const RELEASE_SCRIPT = `if redis.call("get", KEYS[1]) and tonumber(redis.call("get", KEYS[1])) > 0 then return redis.call("decr", KEYS[1]) end return 0`;

/**
 * Redis through ioredis. Commands fail fast when Redis is unreachable (no offline queue,
 * one retry) so callers can fall back to PostgreSQL instead of hanging.
 */
export function createRedisStore(url: string, keyPrefix: string): KeyValueStore {
  const options = {
    keyPrefix,
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
  };
  const client = new Redis(url, options);
  client.on("error", () => {
    // Reported through failing commands; the client reconnects by itself.
  });
  // Commands wait for a connection a short while, then fail, so callers can fall back.
  const ready = async (): Promise<Redis> => {
    if (client.status === "ready") return client;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.off("ready", onReady);
        reject(new Error("Redis is not reachable"));
      }, 2_000);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      client.once("ready", onReady);
    });
    return client;
  };
  let subscriber: Redis | undefined;
  const listeners = new Map<string, Set<(message: string) => void>>();

  const subscriberClient = (): Redis => {
    if (subscriber) return subscriber;
    const sub = new Redis(url, { ...options, enableOfflineQueue: true });
    sub.on("error", () => {});
    sub.on("message", (channel: string, message: string) => {
      const name = channel.startsWith(keyPrefix) ? channel.slice(keyPrefix.length) : channel;
      for (const listener of listeners.get(name) ?? []) listener(message);
    });
    subscriber = sub;
    return sub;
  };

  return {
    kind: "redis",
    connected: () => client.status === "ready",
    hit: async (key, ttlMs) => {
      const [[, count], [, pttl]] = (await (await ready()).multi().incr(key).pttl(key).exec()) as [
        [Error | null, number],
        [Error | null, number],
      ];
      if (pttl < 0) {
        await (await ready()).pexpire(key, ttlMs);
        return { count, resetMs: ttlMs };
      }
      return { count, resetMs: pttl };
    },
    release: async (key) => {
      await (await ready()).eval(RELEASE_SCRIPT, 1, key);
    },
    get: async (key) => (await ready()).get(key),
    set: async (key, value, ttlMs) => {
      const redis = await ready();
      if (ttlMs === undefined) await redis.set(key, value);
      else await redis.set(key, value, "PX", Math.max(1, Math.ceil(ttlMs)));
    },
    del: async (key) => {
      await (await ready()).del(key);
    },
    // ioredis does not prefix channels; do it here so test runs and tenants of one Redis stay apart.
    publish: async (channel, message) => {
      await (await ready()).publish(keyPrefix + channel, message);
    },
    subscribe: async (channel, listener) => {
      let set = listeners.get(channel);
      if (!set) {
        // Subscribed first, registered after: a SUBSCRIBE that failed (Redis down) leaves nothing
        // behind, so the next caller sends it again instead of waiting on a channel never joined.
        // Once joined, ioredis joins again by itself after every reconnect.
        await subscriberClient().subscribe(keyPrefix + channel);
        set = listeners.get(channel) ?? new Set();
        listeners.set(channel, set);
      }
      set.add(listener);
      const joined = set;
      return async () => {
        joined.delete(listener);
        if (joined.size === 0 && listeners.get(channel) === joined) {
          listeners.delete(channel);
          await subscriber?.unsubscribe(keyPrefix + channel);
        }
      };
    },
    ping: async () => {
      await (await ready()).ping();
    },
    close: async () => {
      client.disconnect();
      subscriber?.disconnect();
    },
  };
}
