import type { RequestInfo } from "./router";

/**
 * The address rate limits and the audit log attribute a request to. `X-Forwarded-For` is
 * believed only behind a trusted proxy (TRUST_PROXY=true): otherwise any client could pick a
 * fresh address per request and never be limited. Even then only its last entry counts, the
 * one our proxy appended: everything left of it is whatever the client chose to send.
 */
export function clientAddress(request: Request, info: RequestInfo, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for");
    const last = forwarded?.split(",").at(-1)?.trim();
    if (last) return last;
    const real = request.headers.get("x-real-ip")?.trim();
    if (real) return real;
  }
  return info.remoteAddress ?? "unknown";
}
