/**
 * Short-lived shared state: rate-limit counters, the revocation cache, pub/sub pokes.
 * Redis when REDIS_URL is set (shared by every instance), in-process otherwise.
 * Never the source of truth: PostgreSQL is; callers fall back to it when this fails.
 */
export interface KeyValueStore {
  readonly kind: "redis" | "memory";
  /** Adds one to a counter that expires `ttlMs` after its first hit; answers the count and time left. */
  hit(key: string, ttlMs: number): Promise<{ count: number; resetMs: number }>;
  /** Takes one back from a counter of `hit`, if it still exists (never below zero, never reviving it). */
  release(key: string): Promise<void>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  del(key: string): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  /** Whether the connection for commands is up now (Redis only; the metrics read it). */
  connected?(): boolean;
  /** Throws when the store does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
