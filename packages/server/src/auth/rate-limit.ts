import { AppError } from "@repensar/contracts";
import type { ServerContext } from "../context";
import { createMemoryStore } from "../kv/memory";
import type { KeyValueStore } from "../kv/store";

/**
 * Sign-in throttling after OWASP's Authentication Cheat Sheet: guessing stays expensive, and
 * nobody can lock a user out of their own account by guessing at it.
 *
 * - Per (account, address), strictly: LOGIN_MAX_ATTEMPTS failed attempts per window, then 429.
 * - Per address, across accounts: LOGIN_MAX_ATTEMPTS × ADDRESS_ALLOWANCE_FACTOR failures (an
 *   office behind one NAT may hold many accounts).
 * - Per account, from anywhere: past LOGIN_MAX_ATTEMPTS failures, each further attempt waits a
 *   delay that doubles with every failure (from ACCOUNT_DELAY_BASE_MS up to the window). An
 *   address that signed in to the account successfully before is exempt (OWASP's "device
 *   cookie", by address): however many guesses come from elsewhere, the owner still signs in
 *   from their own address, which keeps its own strict allowance.
 *
 * Attempts are counted before the password is checked, so a burst of parallel guesses cannot
 * pass the check together; a successful one is then taken back: sign-ins never use up an
 * address's allowance. Counters live in the shared store (Redis when configured) so every
 * instance counts together.
 */
export const ADDRESS_ALLOWANCE_FACTOR = 5;
/** The first delay once an account is past its failures; it doubles with every further failure. */
export const ACCOUNT_DELAY_BASE_MS = 5_000;
/** How long a successful sign-in makes its address known to the account. */
const KNOWN_ADDRESS_TTL_MS = 30 * 24 * 3600 * 1000;

/** Where the shared store is down, counting goes on in this process: never unlimited. */
const fallbacks = new WeakMap<ServerContext, KeyValueStore>();

function fallbackOf(ctx: ServerContext): KeyValueStore {
  let fallback = fallbacks.get(ctx);
  if (!fallback) {
    fallback = createMemoryStore();
    fallbacks.set(ctx, fallback);
  }
  return fallback;
}

/** Runs `op` on the shared store, or on this process's when the shared one fails. */
async function onStore<T>(ctx: ServerContext, op: (store: KeyValueStore) => Promise<T>): Promise<T> {
  try {
    return await op(ctx.kv);
  } catch (error) {
    ctx.log.warn("rate-limit store unavailable; counting in this process", { error });
    return op(fallbackOf(ctx));
  }
}

const keys = {
  pair: (email: string, address: string) => `ratelimit:login:pair:${email}:${address}`,
  address: (address: string) => `ratelimit:login:address:${address}`,
  accountFailures: (email: string) => `ratelimit:login:account:${email}`,
  accountLastFailure: (email: string) => `ratelimit:login:account-last:${email}`,
  known: (email: string, address: string) => `ratelimit:login:known:${email}:${address}`,
};

function limited(waitMs: number, detail = "Too many sign-in attempts; retry later."): AppError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError("RATE_LIMITED", detail, { headers: { "Retry-After": String(seconds) } });
}

/** One sign-in attempt under way: report how it ended. */
export interface LoginAttempt {
  succeeded(): Promise<void>;
  failed(): Promise<void>;
}

/**
 * Counts one attempt against `email` and `address` before the password is looked at; 429
 * `RATE_LIMITED` with `Retry-After` when the pair or the address is past its allowance, or the
 * account is waiting out a delay for an address it does not know.
 */
export async function beginLoginAttempt(ctx: ServerContext, rawEmail: string, address: string): Promise<LoginAttempt> {
  const email = rawEmail.toLowerCase();
  const windowMs = ctx.config.loginWindowSeconds * 1000;
  const max = ctx.config.loginMaxAttempts;
  const [pair, client, known] = await Promise.all([
    onStore(ctx, (s) => s.hit(keys.pair(email, address), windowMs)),
    onStore(ctx, (s) => s.hit(keys.address(address), windowMs)),
    onStore(ctx, (s) => s.get(keys.known(email, address))),
  ]);
  const release = async () => {
    await Promise.all([
      onStore(ctx, (s) => s.release(keys.pair(email, address))),
      onStore(ctx, (s) => s.release(keys.address(address))),
    ]);
  };
  if (pair.count > max || client.count > max * ADDRESS_ALLOWANCE_FACTOR) {
    // Refused attempts are not guesses: they do not push the window further out.
    await release();
    throw limited(Math.max(pair.count > max ? pair.resetMs : 0, client.count > max * ADDRESS_ALLOWANCE_FACTOR ? client.resetMs : 0));
  }
  if (known === null) {
    const wait = await accountDelayLeft(ctx, email);
    if (wait > 0) {
      await release();
      throw limited(wait);
    }
  }
  return {
    succeeded: async () => {
      await Promise.all([
        onStore(ctx, (s) => s.del(keys.pair(email, address))),
        onStore(ctx, (s) => s.release(keys.address(address))),
        onStore(ctx, (s) => s.set(keys.known(email, address), "1", KNOWN_ADDRESS_TTL_MS)),
      ]);
    },
    failed: async () => {
      await Promise.all([
        onStore(ctx, (s) => s.hit(keys.accountFailures(email), windowMs)),
        onStore(ctx, (s) => s.set(keys.accountLastFailure(email), String(Date.now()), windowMs)),
      ]);
    },
  };
}

/** How long an unknown address must still wait before trying this account: 0 when it need not. */
async function accountDelayLeft(ctx: ServerContext, email: string): Promise<number> {
  const [failuresText, lastText] = await Promise.all([
    onStore(ctx, (s) => s.get(keys.accountFailures(email))),
    onStore(ctx, (s) => s.get(keys.accountLastFailure(email))),
  ]);
  const failures = Number(failuresText ?? "0");
  const over = failures - ctx.config.loginMaxAttempts;
  if (over < 0 || lastText === null) return 0;
  const delay = Math.min(ACCOUNT_DELAY_BASE_MS * 2 ** Math.min(over, 30), ctx.config.loginWindowSeconds * 1000);
  return Math.max(0, Number(lastText) + delay - Date.now());
}

/** Registration hashes a password too: bounded per address like sign-in. */
export async function countRegistration(ctx: ServerContext, address: string): Promise<void> {
  const result = await onStore(ctx, (s) => s.hit(`ratelimit:register:address:${address}`, ctx.config.loginWindowSeconds * 1000));
  if (result.count > ctx.config.loginMaxAttempts * ADDRESS_ALLOWANCE_FACTOR) {
    throw limited(result.resetMs, "Too many registrations from this address; retry later.");
  }
}
