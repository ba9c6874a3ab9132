import { EventEmitter } from "node:events";
import type { KeyValueStore } from "./store";

interface Entry {
  value: string;
  expiresAt: number;
}

export function createMemoryStore(now: () => number = Date.now): KeyValueStore {
  const entries = new Map<string, Entry>();
  const bus = new EventEmitter();
  bus.setMaxListeners(0);

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  // Expired keys are dropped when read; sweep now and then so unread ones do not pile up.
  const sweep = setInterval(() => {
    for (const key of entries.keys()) live(key);
  }, 60_000);
  sweep.unref();

  return {
    kind: "memory",
    hit: async (key, ttlMs) => {
      const entry = live(key);
      if (!entry) {
        entries.set(key, { value: "1", expiresAt: now() + ttlMs });
        return { count: 1, resetMs: ttlMs };
      }
      entry.value = String(Number(entry.value) + 1);
      return { count: Number(entry.value), resetMs: entry.expiresAt - now() };
    },
    release: async (key) => {
      const entry = live(key);
      if (entry) entry.value = String(Math.max(0, Number(entry.value) - 1));
    },
    get: async (key) => live(key)?.value ?? null,
    set: async (key, value, ttlMs) => {
      entries.set(key, { value, expiresAt: ttlMs === undefined ? Number.POSITIVE_INFINITY : now() + ttlMs });
    },
    del: async (key) => {
      entries.delete(key);
    },
    publish: async (channel, message) => {
      bus.emit(channel, message);
    },
    subscribe: async (channel, listener) => {
      bus.on(channel, listener);
      return async () => {
        bus.off(channel, listener);
      };
    },
    ping: async () => {},
    close: async () => {
      clearInterval(sweep);
      entries.clear();
      bus.removeAllListeners();
    },
  };
}
