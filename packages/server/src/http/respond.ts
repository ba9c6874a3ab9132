import { AppError, isAppError } from "@repensar/contracts";
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
 * SQL or connection string.
 */
export function errorResponse(error: unknown, log: Logger): Response {
  const appError = isAppError(error) ? error : internal(error, log);
  return json(appError.toBody(), appError.status, { ...appError.headers });
}

function internal(error: unknown, log: Logger): AppError {
  log.error("unhandled error", { error });
  return new AppError("INTERNAL_ERROR");
}
