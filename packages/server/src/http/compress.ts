const COMPRESSIBLE = /^(application\/(json|javascript|.*\+json)|text\/)/i;
const MIN_BYTES = 1024;

/**
 * Gzips a response when the client accepts it and the body is worth it. Streaming bodies
 * (Server-Sent Events) are left alone so every event reaches the client at once.
 */
export async function compressIfAccepted(request: Request, response: Response): Promise<Response> {
  const accepts = /\bgzip\b/i.test(request.headers.get("accept-encoding") ?? "");
  const type = response.headers.get("content-type") ?? "";
  if (!accepts || !response.body || response.headers.has("content-encoding") || !COMPRESSIBLE.test(type) || type.startsWith("text/event-stream")) {
    return response;
  }
  const body = new Uint8Array(await response.arrayBuffer());
  const headers = new Headers(response.headers);
  headers.append("vary", "Accept-Encoding");
  if (body.byteLength < MIN_BYTES) {
    return new Response(body, { status: response.status, statusText: response.statusText, headers });
  }
  const compressed = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
  headers.set("content-encoding", "gzip");
  headers.delete("content-length");
  return new Response(compressed, { status: response.status, statusText: response.statusText, headers });
}
