import { z } from "zod";

/**
 * The tRPC v11 error codes (`TRPC_ERROR_CODE_KEY` in @trpc/server). Listed here so this package
 * stays free of a tRPC dependency; the server's `TRPCError` constructor checks them again.
 */
export const trpcErrorCodes = [
  "PARSE_ERROR",
  "BAD_REQUEST",
  "INTERNAL_SERVER_ERROR",
  "NOT_IMPLEMENTED",
  "BAD_GATEWAY",
  "SERVICE_UNAVAILABLE",
  "GATEWAY_TIMEOUT",
  "UNAUTHORIZED",
  "PAYMENT_REQUIRED",
  "FORBIDDEN",
  "NOT_FOUND",
  "METHOD_NOT_SUPPORTED",
  "TIMEOUT",
  "CONFLICT",
  "PRECONDITION_FAILED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "UNPROCESSABLE_CONTENT",
  "PRECONDITION_REQUIRED",
  "TOO_MANY_REQUESTS",
  "CLIENT_CLOSED_REQUEST",
] as const;
export type TrpcErrorCode = (typeof trpcErrorCodes)[number];

export interface ErrorCatalogEntry {
  /** The status a REST client gets. */
  readonly http: number;
  /** The code a tRPC client gets. */
  readonly trpc: TrpcErrorCode;
  /** The `detail` sent when the thrower gives none. */
  readonly message: string;
}

/**
 * Every error a client can receive, for REST and tRPC alike. REST answers
 * `{ "detail": <message or issues>, "code": <key> }` with `http`; tRPC answers with `trpc`.
 */
export const errorCatalog = {
  // 400 / 422: the request itself is wrong
  /** A body or query failed its schema; `detail` lists the issues as `{loc, msg, type}`. */
  VALIDATION_ERROR: { http: 422, trpc: "UNPROCESSABLE_CONTENT", message: "The request is not valid" },
  /** `entity_types` (or a change) names an entity type the server does not define. */
  UNKNOWN_ENTITY_TYPE: { http: 422, trpc: "UNPROCESSABLE_CONTENT", message: "Unknown entity type" },
  /** The body is not parseable JSON. */
  MALFORMED_JSON: { http: 400, trpc: "PARSE_ERROR", message: "The request body is not valid JSON" },
  /** `since` is neither null, an ISO-8601 timestamp nor a token this server signed for this user. */
  INVALID_SYNC_TOKEN: { http: 400, trpc: "BAD_REQUEST", message: "The sync token is not valid" },
  /** The request is wrong in a way no more specific code describes. */
  BAD_REQUEST: { http: 400, trpc: "BAD_REQUEST", message: "Bad request" },
  /** The `X-Repensar-Protocol` header names a version this server does not speak. */
  UNSUPPORTED_PROTOCOL_VERSION: {
    http: 400,
    trpc: "BAD_REQUEST",
    message: "This protocol version is not supported; update the app",
  },

  // 401: who is calling is unknown
  /** No access token was sent. */
  UNAUTHORIZED: { http: 401, trpc: "UNAUTHORIZED", message: "Not authenticated" },
  /** The access token's `exp` has passed; refresh it. */
  TOKEN_EXPIRED: { http: 401, trpc: "UNAUTHORIZED", message: "The access token has expired" },
  /** The access token is malformed, badly signed, or for another issuer or audience. */
  TOKEN_INVALID: { http: 401, trpc: "UNAUTHORIZED", message: "The access token is not valid" },
  /** The access token was revoked (logout, device revoke, refresh-family revoke). */
  TOKEN_REVOKED: { http: 401, trpc: "UNAUTHORIZED", message: "The access token has been revoked" },
  /** Login with an unknown email or a wrong password (the two answer alike). */
  INVALID_CREDENTIALS: { http: 401, trpc: "UNAUTHORIZED", message: "Incorrect email or password" },
  /** The refresh token is unknown, expired or revoked. */
  REFRESH_TOKEN_INVALID: { http: 401, trpc: "UNAUTHORIZED", message: "The refresh token is not valid" },
  /** A rotated refresh token was used again; its whole family is now revoked. */
  REFRESH_TOKEN_REUSED: {
    http: 401,
    trpc: "UNAUTHORIZED",
    message: "The refresh token was already used; sign in again",
  },

  // 403: known caller, not allowed
  /** The caller's role does not allow this (e.g. a member acting on another user's device). */
  FORBIDDEN: { http: 403, trpc: "FORBIDDEN", message: "Not allowed" },
  /** The device is not registered, or has been revoked. Clients stop syncing and sign out. */
  DEVICE_INACTIVE: { http: 403, trpc: "FORBIDDEN", message: "Device not registered or inactive" },
  /** Registering a `device_id` that already belongs to another user. */
  DEVICE_OWNED_BY_OTHER: { http: 403, trpc: "FORBIDDEN", message: "This device is registered to another user" },
  /** `POST /auth/register` while registration is turned off. */
  REGISTRATION_DISABLED: { http: 403, trpc: "FORBIDDEN", message: "Registration is disabled" },
  /** A state-changing console request whose `Origin` is not the console's own. */
  ORIGIN_MISMATCH: { http: 403, trpc: "FORBIDDEN", message: "Cross-origin request refused" },

  // 404
  /** No route or resource by that name. */
  NOT_FOUND: { http: 404, trpc: "NOT_FOUND", message: "Not found" },
  /** UPDATE or DELETE of an id that does not exist in the caller's organization. */
  ENTITY_NOT_FOUND: { http: 404, trpc: "NOT_FOUND", message: "Entity not found" },
  /** A device id that the caller cannot see (unknown, or another user's for a member). */
  DEVICE_NOT_FOUND: { http: 404, trpc: "NOT_FOUND", message: "Device not found" },
  /** A conflict id that the caller cannot see. */
  CONFLICT_NOT_FOUND: { http: 404, trpc: "NOT_FOUND", message: "Conflict not found" },
  /** A user id that does not exist in the caller's organization. */
  USER_NOT_FOUND: { http: 404, trpc: "NOT_FOUND", message: "User not found" },

  // 405
  /** The path exists but not with this HTTP method. */
  METHOD_NOT_ALLOWED: { http: 405, trpc: "METHOD_NOT_SUPPORTED", message: "Method not allowed" },

  // 409
  /** Registering (or inviting) an email that already has an account. */
  EMAIL_TAKEN: { http: 409, trpc: "CONFLICT", message: "An account with this email already exists" },
  /** Resolving a conflict that was already resolved. */
  CONFLICT_ALREADY_RESOLVED: { http: 409, trpc: "CONFLICT", message: "Conflict already resolved" },
  /** Resolving a conflict whose row has changed since the conflict was recorded. */
  CONFLICT_STALE: {
    http: 409,
    trpc: "CONFLICT",
    message: "The entity has changed since this conflict was recorded; pull and try again",
  },

  /** In an atomic push: the change that met a conflict, so nothing of the batch was applied (a `results[]` code). */
  CONFLICT: { http: 409, trpc: "CONFLICT", message: "The change conflicts with the server's row" },
  /** In an atomic push: a valid change left unapplied because another change of the batch could not apply. */
  ATOMIC_BATCH_ABORTED: {
    http: 409,
    trpc: "CONFLICT",
    message: "Not applied: another change of the atomic batch could not apply",
  },

  // 410
  /** The sync token is older than the tombstone retention or from another database epoch: full sync. */
  SYNC_RESET_REQUIRED: {
    http: 410,
    trpc: "PRECONDITION_FAILED",
    message: "The sync token is too old; a full sync is required",
  },

  // 413 / 415 / 429
  /** The body is over the size limit (checked before parsing). */
  PAYLOAD_TOO_LARGE: { http: 413, trpc: "PAYLOAD_TOO_LARGE", message: "The request body is too large" },
  /** A body sent with a Content-Type other than JSON. */
  UNSUPPORTED_MEDIA_TYPE: {
    http: 415,
    trpc: "UNSUPPORTED_MEDIA_TYPE",
    message: "The request body must be application/json",
  },
  /** Too many requests (login attempts, sync calls); `Retry-After` says when to retry. */
  RATE_LIMITED: { http: 429, trpc: "TOO_MANY_REQUESTS", message: "Too many requests; retry later" },

  // 5xx: the server's fault, never the client's input
  /** An unexpected failure; details are logged, never sent. */
  INTERNAL_ERROR: { http: 500, trpc: "INTERNAL_SERVER_ERROR", message: "Internal server error" },
  /** A dependency (database, Redis) is unreachable; retry later. */
  SERVICE_UNAVAILABLE: {
    http: 503,
    trpc: "SERVICE_UNAVAILABLE",
    message: "The service is temporarily unavailable",
  },
} as const satisfies Record<string, ErrorCatalogEntry>;

export type ErrorCode = keyof typeof errorCatalog;
export const errorCodes = Object.keys(errorCatalog) as ErrorCode[];

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorCatalog, value);
}

/** One schema violation, in the shape FastAPI clients already read: `loc` is the path to the value. */
export const ValidationIssue = z.object({
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  type: z.string(),
});
export type ValidationIssue = z.infer<typeof ValidationIssue>;

/** Every error response body. */
export const ErrorBody = z.object({
  detail: z.union([z.string(), z.array(ValidationIssue)]),
  code: z.string(),
  /** The request's id, as in its `X-Request-Id` response header: quote it when reporting a failure. */
  request_id: z.string().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export interface AppErrorOptions {
  /** Extra response headers, e.g. `Retry-After`. Merged over the code's defaults. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

const TOKEN_CODES: ReadonlySet<ErrorCode> = new Set(["TOKEN_EXPIRED", "TOKEN_INVALID", "TOKEN_REVOKED"]);

/** RFC 6750 §3: every 401 names the scheme; a rejected token says so. */
function defaultHeaders(code: ErrorCode): Record<string, string> | undefined {
  if (errorCatalog[code].http !== 401) return undefined;
  return { "WWW-Authenticate": TOKEN_CODES.has(code) ? 'Bearer error="invalid_token"' : "Bearer" };
}

/** The one error type the domain throws; both transports map it through `errorCatalog`. */
export class AppError extends Error {
  override readonly name = "AppError";
  readonly code: ErrorCode;
  /** HTTP status, from the catalog. */
  readonly status: number;
  readonly detail: string | ValidationIssue[];
  readonly headers?: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, detail?: string | ValidationIssue[], options: AppErrorOptions = {}) {
    const entry: ErrorCatalogEntry = errorCatalog[code];
    const resolved = detail ?? entry.message;
    super(typeof resolved === "string" ? resolved : entry.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = entry.http;
    this.detail = resolved;
    const headers = { ...defaultHeaders(code), ...options.headers };
    if (Object.keys(headers).length > 0) this.headers = headers;
  }

  get trpcCode(): TrpcErrorCode {
    return errorCatalog[this.code].trpc;
  }

  /** The JSON body a REST client receives. */
  toBody(): ErrorBody {
    return { detail: this.detail, code: this.code };
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** zod's issues as `ValidationIssue`s; `prefix` places them, e.g. `["body"]` or `["query"]`. */
export function validationIssues(error: z.ZodError, prefix: readonly (string | number)[] = []): ValidationIssue[] {
  return error.issues.flatMap((issue): ValidationIssue[] => {
    const loc = [...prefix, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ loc: [...loc, key], msg: `Unknown field '${key}'`, type: "unknown_field" }));
    }
    // A refinement names its own type through `params.type` (e.g. "unknown_entity_type").
    const custom = issue.code === "custom" ? issue.params?.["type"] : undefined;
    return [{ loc, msg: issue.message, type: typeof custom === "string" ? custom : issue.code }];
  });
}

/** A 422 `VALIDATION_ERROR` from a failed zod parse. */
export function validationError(error: z.ZodError, prefix: readonly (string | number)[] = []): AppError {
  return new AppError("VALIDATION_ERROR", validationIssues(error, prefix));
}
