import { AppError } from "@repensar/contracts";
import type { ServerContext } from "../context";
import { createMemoryStore } from "../kv/memory";
import type { KeyValueStore } from "../kv/store";

/**
 * Login attempts are counted per account and per client address, in the shared store (Redis
 * when configured) so every instance counts together. An address may try several accounts
 * (an office behind one NAT), so its allowance is a multiple of an account's.
 */
export const ADDRESS_ALLOWANCE_FACTOR = 5;

/** Where the shared store is down, counting goes on in this process: never unlimited. */
const fallbacks = new WeakMap<ServerContext, KeyValueStore>();

async function hit(ctx: ServerContext, key: string, ttlMs: number): Promise<{ count: number; resetMs: number }> {
  try {
    return await ctx.kv.hit(key, ttlMs);
  } catch (error) {
    ctx.log.warn("rate-limit store unavailable; counting in this process", { error });
    let fallback = fallbacks.get(ctx);
    if (!fallback) {
      fallback = createMemoryStore();
      fallbacks.set(ctx, fallback);
    }
    return fallback.hit(key, ttlMs);
  }
}

function accountKey(email: string): string {
  return `ratelimit:login:account:${email.toLowerCase()}`;
}

/**
 * Counts one attempt against `email` and `address` before the password is looked at; 429
 * `RATE_LIMITED` with `Retry-After` once either is over its allowance for the window.
 */
export async function countLoginAttempt(ctx: ServerContext, email: string, address: string): Promise<void> {
  const windowMs = ctx.config.loginWindowSeconds * 1000;
  const max = ctx.config.loginMaxAttempts;
  const [account, client] = await Promise.all([
    hit(ctx, accountKey(email), windowMs),
    hit(ctx, `ratelimit:login:address:${address}`, windowMs),
  ]);
  const waits: number[] = [];
  if (account.count > max) waits.push(account.resetMs);
  if (client.count > max * ADDRESS_ALLOWANCE_FACTOR) waits.push(client.resetMs);
  if (waits.length > 0) {
    const seconds = Math.max(1, Math.ceil(Math.max(...waits) / 1000));
    throw new AppError("RATE_LIMITED", "Too many sign-in attempts; retry later.", { headers: { "Retry-After": String(seconds) } });
  }
}

/** A successful sign-in clears the account's count (the address keeps its own). */
export async function clearLoginAttempts(ctx: ServerContext, email: string): Promise<void> {
  try {
    await ctx.kv.del(accountKey(email));
  } catch (error) {
    ctx.log.warn("rate-limit store unavailable; count not cleared", { error });
  }
  await fallbacks.get(ctx)?.del(accountKey(email));
}

/** Registration hashes a password too: bounded per address like sign-in. */
export async function countRegistration(ctx: ServerContext, address: string): Promise<void> {
  const result = await hit(ctx, `ratelimit:register:address:${address}`, ctx.config.loginWindowSeconds * 1000);
  if (result.count > ctx.config.loginMaxAttempts * ADDRESS_ALLOWANCE_FACTOR) {
    const seconds = Math.max(1, Math.ceil(result.resetMs / 1000));
    throw new AppError("RATE_LIMITED", "Too many registrations from this address; retry later.", { headers: { "Retry-After": String(seconds) } });
  }
}
