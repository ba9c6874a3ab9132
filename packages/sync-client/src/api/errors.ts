import { ErrorBody } from "@repensar/contracts";

/** Codes the client itself gives, beside the server's catalog codes (`DEVICE_INACTIVE`, ...). */
export const ClientErrorCode = {
  /** The request never got an answer: no connection, DNS, reset, timeout. */
  NetworkError: "NETWORK_ERROR",
  /** The server answered something that is not the contract's response. */
  InvalidResponse: "INVALID_RESPONSE",
  /** No tokens are stored: sign in first. */
  NotSignedIn: "NOT_SIGNED_IN",
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Statuses worth another try: the request may succeed later unchanged. */
const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

/**
 * Catalog codes worth another try whatever status a proxy in front of the server put on them:
 * the server is overloaded, or its database or Redis is unreachable, for a while.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(["SERVICE_UNAVAILABLE", "RATE_LIMITED"]);

export interface ApiErrorInit {
  readonly code: string;
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  readonly retryable: boolean;
  /** From `Retry-After`, when the server sent one. */
  readonly retryAfterMs?: number | null;
  /** True when the client cleared its tokens because the server ended the session or the device. */
  readonly revoked?: boolean;
  readonly cause?: unknown;
}

/** Anything a REST call can fail with. `message` is one sentence an app can show. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterMs: number | null;
  readonly revoked: boolean;

  constructor(message: string, init: ApiErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.revoked = init.revoked ?? false;
  }
}

export function isApiError(error: unknown, code?: string): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}

/** `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from `now`. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The server's `{detail, code}` as one sentence; a list of issues becomes "field: message; ...". */
export function errorFromResponse(status: number, body: unknown, retryAfterMs: number | null): ApiError {
  const parsed = ErrorBody.safeParse(body);
  const code = parsed.success ? parsed.data.code : `HTTP_${status}`;
  let message: string;
  if (!parsed.success) message = `The server answered with status ${status}`;
  else if (typeof parsed.data.detail === "string") message = parsed.data.detail;
  else message = `The request is not valid: ${parsed.data.detail.map((i) => `${i.loc.join(".")}: ${i.msg}`).join("; ")}`;
  return new ApiError(message, { code, status, retryable: isRetryableStatus(status) || RETRYABLE_CODES.has(code), retryAfterMs });
}
