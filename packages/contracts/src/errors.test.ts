import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  AppError,
  ErrorBody,
  errorCatalog,
  errorCodes,
  isAppError,
  isErrorCode,
  trpcErrorCodes,
  validationError,
  validationIssues,
} from "./errors";

/** The statuses the source's clients branch on, as DESIGN.md fixes them. */
const expectedStatus = {
  VALIDATION_ERROR: 422,
  UNKNOWN_ENTITY_TYPE: 422,
  MALFORMED_JSON: 400,
  INVALID_SYNC_TOKEN: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_INVALID: 401,
  TOKEN_REVOKED: 401,
  INVALID_CREDENTIALS: 401,
  REFRESH_TOKEN_INVALID: 401,
  REFRESH_TOKEN_REUSED: 401,
  FORBIDDEN: 403,
  DEVICE_INACTIVE: 403,
  DEVICE_OWNED_BY_OTHER: 403,
  REGISTRATION_DISABLED: 403,
  ORIGIN_MISMATCH: 403,
  NOT_FOUND: 404,
  ENTITY_NOT_FOUND: 404,
  DEVICE_NOT_FOUND: 404,
  CONFLICT_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  EMAIL_TAKEN: 409,
  CONFLICT_ALREADY_RESOLVED: 409,
  CONFLICT_STALE: 409,
  CONFLICT: 409,
  ATOMIC_BATCH_ABORTED: 409,
  SYNC_RESET_REQUIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

describe("error catalog", () => {
  it("has every code the API promises, with its HTTP status", () => {
    for (const [code, status] of Object.entries(expectedStatus)) {
      expect(isErrorCode(code), code).toBe(true);
      if (isErrorCode(code)) expect(errorCatalog[code].http, code).toBe(status);
    }
  });

  it("gives every code an error status, a tRPC v11 code and a sentence", () => {
    for (const code of errorCodes) {
      const entry = errorCatalog[code];
      expect(entry.http, code).toBeGreaterThanOrEqual(400);
      expect(entry.http, code).toBeLessThan(600);
      expect(trpcErrorCodes, code).toContain(entry.trpc);
      expect(entry.message.length, code).toBeGreaterThan(0);
      expect(code, code).toMatch(/^[A-Z][A-Z_]+$/);
    }
  });

  it("maps client errors to client tRPC codes and server errors to server ones", () => {
    const serverSide = new Set(["INTERNAL_SERVER_ERROR", "NOT_IMPLEMENTED", "BAD_GATEWAY", "SERVICE_UNAVAILABLE", "GATEWAY_TIMEOUT"]);
    for (const code of errorCodes) {
      const entry = errorCatalog[code];
      expect(serverSide.has(entry.trpc), code).toBe(entry.http >= 500);
    }
  });

  it("says exactly what the source's troubleshooting section quotes for an inactive device", () => {
    expect(new AppError("DEVICE_INACTIVE").detail).toBe("Device not registered or inactive");
  });
});

describe("AppError", () => {
  it("takes its status from the catalog and its detail from the catalog unless given", () => {
    const error = new AppError("CONFLICT_STALE");
    expect(error).toBeInstanceOf(Error);
    expect(isAppError(error)).toBe(true);
    expect(isAppError(new Error("x"))).toBe(false);
    expect(error.status).toBe(409);
    expect(error.trpcCode).toBe("CONFLICT");
    expect(error.toBody()).toEqual({ detail: errorCatalog.CONFLICT_STALE.message, code: "CONFLICT_STALE" });
    expect(new AppError("DEVICE_NOT_FOUND", "Device 'abc' not found").toBody()).toEqual({
      detail: "Device 'abc' not found",
      code: "DEVICE_NOT_FOUND",
    });
  });

  it("names the Bearer scheme on every 401, and flags a rejected token", () => {
    expect(new AppError("UNAUTHORIZED").headers).toEqual({ "WWW-Authenticate": "Bearer" });
    expect(new AppError("TOKEN_EXPIRED").headers).toEqual({ "WWW-Authenticate": 'Bearer error="invalid_token"' });
    expect(new AppError("FORBIDDEN").headers).toBeUndefined();
  });

  it("carries extra headers such as Retry-After", () => {
    const error = new AppError("RATE_LIMITED", undefined, { headers: { "Retry-After": "30" } });
    expect(error.headers).toEqual({ "Retry-After": "30" });
    expect(error.detail).toBe(errorCatalog.RATE_LIMITED.message);
  });

  it("produces a body that the ErrorBody schema accepts, for strings and issue lists", () => {
    const parsed = z.object({ hours: z.number() }).safeParse({ hours: "8" });
    if (parsed.success) throw new Error("expected a failed parse");
    const error = validationError(parsed.error, ["body"]);
    expect(error.status).toBe(422);
    expect(error.toBody()).toEqual({
      code: "VALIDATION_ERROR",
      detail: [{ loc: ["body", "hours"], msg: expect.any(String) as string, type: "invalid_type" }],
    });
    expect(ErrorBody.safeParse(error.toBody()).success).toBe(true);
    expect(ErrorBody.safeParse(new AppError("NOT_FOUND").toBody()).success).toBe(true);
    expect(error.message).toBe(errorCatalog.VALIDATION_ERROR.message);
  });

  it("names each unknown key of a strict object, and a refinement's own type", () => {
    const strict = z.strictObject({ a: z.string() }).safeParse({ a: "x", b: 1, c: 2 });
    if (strict.success) throw new Error("expected a failed parse");
    expect(validationIssues(strict.error)).toEqual([
      { loc: ["b"], msg: "Unknown field 'b'", type: "unknown_field" },
      { loc: ["c"], msg: "Unknown field 'c'", type: "unknown_field" },
    ]);
    const refined = z
      .string()
      .refine((s) => s === "ok", { message: "not ok", params: { type: "not_ok" } })
      .safeParse("nope");
    if (refined.success) throw new Error("expected a failed parse");
    expect(validationIssues(refined.error)).toEqual([{ loc: [], msg: "not ok", type: "not_ok" }]);
  });
});
