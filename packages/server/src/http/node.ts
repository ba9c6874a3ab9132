import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { compressIfAccepted } from "./compress";
import type { RequestInfo } from "./router";

export type FetchHandler = (request: Request, info: RequestInfo) => Promise<Response>;

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serves a fetch-style handler over node:http, gzipping for clients that accept it (tests, standalone use). */
export async function serveFetch(handler: FetchHandler, options: { port?: number; hostname?: string } = {}): Promise<RunningServer> {
  const server = createServer((req, res) => {
    void respond(handler, req, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.hostname ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.hostname ?? "127.0.0.1"}:${port}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers one node:http request with the handler's response, gzipped for clients that accept it. */
export async function respond(handler: FetchHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const request = toRequest(req);
    const response = await compressIfAccepted(request, await handler(request, { remoteAddress: req.socket.remoteAddress }));
    res.statusCode = response.status;
    response.headers.forEach((value, key) => res.appendHeader(key, value));
    if (!response.body) {
      res.end();
      return;
    }
    const body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
    res.on("close", () => body.destroy());
    body.pipe(res);
  } catch {
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  }
}

function toRequest(req: IncomingMessage): Request {
  const url = `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(key, v);
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(url, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : null,
    // Required by undici for a streamed request body.
    duplex: "half",
  } as RequestInit);
}
