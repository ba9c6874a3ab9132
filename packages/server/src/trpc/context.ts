import type { FetchCreateContextFnOptions } from "@trpc/server/adapters/fetch";
import type { Principal } from "../auth/principal";
import { readSessionToken, sessionCookie, validateSessionToken } from "../auth/sessions";
import type { ServerContext } from "../context";
import { clientAddress } from "../http/client-address";
import type { RequestInfo } from "../http/router";
import { toAppError } from "../http/respond";
import { asTrpcError, type TrpcContext } from "./init";

export interface TrpcContextOptions {
  req: Request;
  resHeaders: Headers;
  /** The transport's view of the caller (remote address). */
  transport?: RequestInfo | undefined;
  info?: FetchCreateContextFnOptions["info"] | undefined;
}

/**
 * The context of one console request: the session cookie read and validated (and sent again
 * when its expiry slid). The Origin of mutations is checked by every procedure (`init.ts`).
 */
export async function createTrpcContext(ctx: ServerContext, options: TrpcContextOptions): Promise<TrpcContext> {
  const token = readSessionToken(options.req);
  let principal: Principal | null = null;
  if (token) {
    let valid: Awaited<ReturnType<typeof validateSessionToken>>;
    try {
      valid = await validateSessionToken(ctx, token);
    } catch (error) {
      // Before any procedure runs: an unreachable database is still a 503, not a 500.
      throw asTrpcError(toAppError(error, ctx.log));
    }
    if (valid) {
      principal = valid.principal;
      if (valid.renewed) options.resHeaders.append("set-cookie", sessionCookie(ctx, token, valid.session.expiresAt));
    }
  }
  return {
    ctx,
    principal,
    request: options.req,
    resHeaders: options.resHeaders,
    clientAddress: clientAddress(options.req, options.transport ?? {}, ctx.config.trustProxy),
  };
}

/** A context for calling routers directly (tests, server components): no cookie involved. */
export function createInnerTrpcContext(ctx: ServerContext, options: { principal: Principal | null; request?: Request; clientAddress?: string }): TrpcContext {
  const origin = ctx.config.publicOrigin ?? "http://localhost";
  return {
    ctx,
    principal: options.principal,
    request: options.request ?? new Request(`${origin}/api/trpc`, { method: "POST", headers: { origin: new URL(origin).origin } }),
    resHeaders: new Headers(),
    clientAddress: options.clientAddress ?? "127.0.0.1",
  };
}
