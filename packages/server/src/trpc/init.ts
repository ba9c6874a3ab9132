import { AppError, errorCatalog, isAppError, validationError, type ErrorCode, type ValidationIssue } from "@repensar/contracts";
import { isDatabaseUnavailable } from "@repensar/db";
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { Principal } from "../auth/principal";
import { checkOrigin } from "../auth/sessions";
import type { ServerContext } from "../context";
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from "../http/respond";

/** What every procedure receives: the services, the caller (when signed in) and the HTTP exchange. */
export interface TrpcContext {
  ctx: ServerContext;
  principal: Principal | null;
  request: Request;
  /** Headers of the response, e.g. `Set-Cookie`. */
  resHeaders: Headers;
  clientAddress: string;
}

/** The domain error a tRPC error carries, if any: thrown directly, a failed input parse, or an unreachable database. */
function appErrorOf(error: TRPCError): AppError | undefined {
  if (isAppError(error.cause)) return error.cause;
  if (error.cause instanceof ZodError) return validationError(error.cause, ["input"]);
  if (isDatabaseUnavailable(error.cause)) return unavailable(error.cause);
  return undefined;
}

function unavailable(cause: unknown): AppError {
  return new AppError("SERVICE_UNAVAILABLE", "The database is not reachable; retry later.", {
    headers: { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
    cause,
  });
}

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error }) {
    const appError = appErrorOf(error);
    const appCode: ErrorCode = appError?.code ?? (error.code === "INTERNAL_SERVER_ERROR" ? "INTERNAL_ERROR" : "BAD_REQUEST");
    const issues: ValidationIssue[] | null = appError && typeof appError.detail !== "string" ? appError.detail : null;
    // Never a stack or an internal message for a failure the client did not cause.
    const message = appError ? appError.message : error.code === "INTERNAL_SERVER_ERROR" ? errorCatalog.INTERNAL_ERROR.message : shape.message;
    const { stack: _stack, ...data } = shape.data;
    return { ...shape, message, data: { ...data, appCode, issues } };
  },
});

/**
 * Turns a domain error into the tRPC error of its catalog entry (so the status and code are the
 * catalog's), and checks `Origin` on every mutation: the console authenticates by cookie.
 */
const base = t.middleware(async ({ ctx, type, next }) => {
  if (type === "mutation") {
    try {
      checkOrigin(ctx.ctx, ctx.request);
    } catch (error) {
      if (isAppError(error)) throw asTrpcError(error);
      throw error;
    }
  }
  const result = await next();
  if (!result.ok) {
    const appError = appErrorOf(result.error);
    // When to try again travels as on REST (a 429's or a 503's `Retry-After`).
    const retryAfter = appError?.headers?.["Retry-After"];
    if (retryAfter !== undefined) ctx.resHeaders.set("Retry-After", retryAfter);
    if (appError && result.error.code !== appError.trpcCode) throw asTrpcError(appError);
  }
  return result;
});

export function asTrpcError(appError: AppError): TRPCError {
  return new TRPCError({ code: appError.trpcCode, message: appError.message, cause: appError });
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Anyone, signed in or not. */
export const publicProcedure = t.procedure.use(base);

/** A signed-in user: `ctx.principal` is set. */
export const userProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.principal) throw new AppError("UNAUTHORIZED", "Sign in to continue.");
  return next({ ctx: { ...ctx, principal: ctx.principal } });
});

/** An admin of their organization. */
export const adminProcedure = userProcedure.use(({ ctx, next }) => {
  if (ctx.principal.role !== "admin") throw new AppError("FORBIDDEN", "Only an admin of the organization may do this.");
  return next({ ctx });
});
