import { AppError } from "@repensar/contracts";
import type { Operation } from "../sync/metrics";

export interface RequestInfo {
  /** The caller's address as seen by the transport (before any proxy header). */
  remoteAddress?: string | undefined;
}

export interface RouteContext {
  request: Request;
  url: URL;
  params: Record<string, string>;
  info: RequestInfo;
  /** The request's id: in the `X-Request-Id` response header, every error body and the log. */
  requestId: string;
  /** What the request turned out to be, for the latency histogram (a pull sets `empty_poll`). */
  observed: { operation: Operation };
}

export type RouteHandler = (ctx: RouteContext) => Promise<Response>;

interface Route {
  method: string;
  pattern: string;
  segments: string[];
  handler: RouteHandler;
}

/** Method + path matching with `:name` segments; a known path with another method is 405. */
export class Router {
  private readonly routes: Route[] = [];

  on(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", pattern: string, handler: RouteHandler): this {
    this.routes.push({ method, pattern, segments: split(pattern), handler });
    return this;
  }

  match(method: string, pathname: string): { handler: RouteHandler; params: Record<string, string>; pattern: string } | undefined {
    const parts = split(pathname);
    let pathKnown = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      pathKnown = true;
      if (route.method === method || (method === "HEAD" && route.method === "GET")) return { handler: route.handler, params, pattern: route.pattern };
    }
    if (pathKnown) throw new AppError("METHOD_NOT_ALLOWED", `${method} is not allowed on ${pathname}.`);
    return undefined;
  }
}

function split(path: string): string[] {
  return path.split("/").filter((s) => s.length > 0);
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? "";
    const part = parts[i] ?? "";
    if (p.startsWith(":")) {
      params[p.slice(1)] = decodeSegment(part);
    } else if (p !== part) {
      return undefined;
    }
  }
  return params;
}

/** A path segment, decoded; 400 when it is not percent-encoding that decodes (`%zz`, `%E0%A4%A`). */
function decodeSegment(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new AppError("BAD_REQUEST", "The request path is not valid percent-encoding.");
  }
}
