// Serves the production build. A thin node:http wrapper around Next's handler so the REST
// layer learns the peer address from the socket (rate limits, audit) instead of from a
// header any client could forge.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import next from "next";

const REMOTE_HEADER = "x-repensar-remote-address";
const dir = fileURLToPath(new URL("..", import.meta.url));
const rawPort = process.env.PORT ?? "3000";
const port = Number(rawPort);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`Invalid configuration: PORT must be a whole number from 1 to 65535 (got ${JSON.stringify(rawPort)}).`);
  process.exit(1);
}
const hostname = process.env.HOST ?? "0.0.0.0";

const app = next({ dev: false, dir, port, hostname });
await app.prepare();
const handle = app.getRequestHandler();

// The REST surface (what app/**/route.ts hands to `forward`) goes straight to the app's handler
// (`respondNode`, which gzips as Next did): same answers, without Next's routing and tracing
// around every request, which cost more than the work of an empty poll. The app is the one
// Next's instrumentation created (lib/server.ts keeps it on globalThis); until it exists, Next
// serves everything.
const REST_PREFIXES = ["/sync/", "/auth/", "/docs/"];
const REST_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/.well-known/jwks.json"]);

/** The request's id for an answer given here, as the app keeps or makes one (see `requestIdOf`). */
function requestIdOf(req) {
  const sent = req.headers["x-request-id"];
  return typeof sent === "string" && /^[A-Za-z0-9._:-]{8,128}$/.test(sent) ? sent : randomUUID();
}

function isRestPath(url) {
  const path = url.split("?", 1)[0];
  return REST_PATHS.has(path) || REST_PREFIXES.some((prefix) => path.startsWith(prefix));
}

/**
 * Whether the path is percent-encoding that decodes (`/sync/%zz`, `/api/trpc/%ff` do not). Next
 * answers those with a text/plain 500 before any route sees them; here they get the API's 400.
 */
function decodablePath(url) {
  const path = (url ?? "/").split("?")[0];
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

const server = createServer((req, res) => {
  req.headers[REMOTE_HEADER] = req.socket.remoteAddress ?? "";
  if (!decodablePath(req.url)) {
    // The catalog's BAD_REQUEST, in the error body every client reads.
    const requestId = requestIdOf(req);
    res.writeHead(400, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-request-id": requestId });
    res.end(JSON.stringify({ detail: "The request path is not valid percent-encoding.", code: "BAD_REQUEST", request_id: requestId }));
    return;
  }
  const pending = globalThis.__repensarApp;
  if (!pending || !isRestPath(req.url ?? "/")) {
    void handle(req, res);
    return;
  }
  pending
    .then((restApp) => restApp.respondNode(req, res))
    .catch((error) => {
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      const requestId = requestIdOf(req);
      console.error(JSON.stringify({ level: "error", time: new Date().toISOString(), message: "REST request failed", request_id: requestId, error: String(error) }));
      res.writeHead(500, { "content-type": "application/json", "x-request-id": requestId });
      res.end(JSON.stringify({ detail: "Internal server error", code: "INTERNAL_ERROR", request_id: requestId }));
    });
});
// Longer than a load balancer's idle timeout (60 s on the common ones), so the server never
// closes a kept-alive connection just as a client sends on it.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(port, hostname, () => {
  console.log(`Repensar Sync console listening on http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  });
}
