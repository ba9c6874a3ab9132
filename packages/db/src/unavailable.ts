/**
 * Whether an error means the database could not be reached or is shutting down, rather than that
 * a query was wrong: the driver's connection errors (postgres.js `CONNECTION_*`, `CONNECT_TIMEOUT`,
 * socket errors), and PostgreSQL's SQLSTATE class 08 (connection exception), 57P01–57P03
 * (shutting down, cannot connect now) and 53300 (too many connections). Drizzle wraps driver
 * errors, so the `cause` chain (and an AggregateError's `errors`) is searched.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const next = pending.pop();
    if (next === null || typeof next !== "object" || seen.has(next)) continue;
    seen.add(next);
    const code = (next as { code?: unknown }).code;
    if (typeof code === "string" && UNAVAILABLE.test(code)) return true;
    pending.push((next as { cause?: unknown }).cause);
    const errors = (next as { errors?: unknown }).errors;
    if (Array.isArray(errors)) pending.push(...(errors as unknown[]));
  }
  return false;
}

const UNAVAILABLE =
  /^(CONNECTION_(CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|08[0-9A-Z]{3}|57P0[123]|53300)$/;
