// Serves the production build. A thin node:http wrapper around Next's handler so the REST
// layer learns the peer address from the socket (rate limits, audit) instead of from a
// header any client could forge.
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
    res.writeHead(400, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    res.end(JSON.stringify({ detail: "The request path is not valid percent-encoding.", code: "BAD_REQUEST" }));
    return;
  }
  void handle(req, res);
});
server.listen(port, hostname, () => {
  console.log(`Repensar Sync console listening on http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  });
}
