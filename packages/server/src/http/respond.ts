import { AppError, isAppError } from "@repensar/contracts";
import { isDatabaseUnavailable } from "@repensar/db";
import type { Logger } from "../log";

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return jsonText(JSON.stringify(body), status, headers);
}

/** A body that is JSON text already (rendered by PostgreSQL, say). */
export function jsonText(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/**
 * The response for anything thrown while handling a request. A domain error keeps its code,
 * status and headers; anything else is logged and answered as a bare 500, never with a stack,
 * SQL or connection string. With the request's id, the body names it (`request_id`), so a
 * client's report leads to the log lines of that request.
 */
export function errorResponse(error: unknown, log: Logger, requestId?: string): Response {
  const appError = toAppError(error, log);
  const body = requestId === undefined ? appError.toBody() : { ...appError.toBody(), request_id: requestId };
  return json(body, appError.status, { ...appError.headers });
}

/** How soon a client should try again when the database is unreachable. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * The domain error for anything thrown: itself when it is one; 503 `SERVICE_UNAVAILABLE` with
 * `Retry-After` when the database could not be reached (clients back off and retry, instead of
 * treating an outage as a bug); otherwise a logged 500 `INTERNAL_ERROR`.
 */
export function toAppError(error: unknown, log: Logger): AppError {
  if (isAppError(error)) return error;
  if (isDatabaseUnavailable(error)) {
    log.warn("database unavailable", { error });
    return new AppError("SERVICE_UNAVAILABLE", "The database is not reachable; retry later.", {
      headers: { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
      cause: error,
    });
  }
  log.error("unhandled error", { error });
  return new AppError("INTERNAL_ERROR");
}
