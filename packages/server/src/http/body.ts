import { AppError, validationError } from "@repensar/contracts";
import type { z } from "zod";

/** Deeper than any message of the API needs; stops pathological payloads early. */
export const MAX_JSON_DEPTH = 32;

/**
 * Reads a JSON body without trusting the client: an announced or actual size over the limit is
 * 413 before anything is parsed, malformed JSON is 400, nesting beyond MAX_JSON_DEPTH is 400.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const announced = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(announced) && announced > maxBytes) throw tooLarge(maxBytes);
  const type = request.headers.get("content-type");
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) {
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", "The request body must be JSON (Content-Type: application/json).");
  }
  const text = await readText(request, maxBytes);
  if (text.trim() === "") throw new AppError("MALFORMED_JSON", "The request body is empty; a JSON object was expected.");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError("MALFORMED_JSON", "The request body is not valid JSON.");
  }
  if (depthExceeds(value, MAX_JSON_DEPTH)) {
    throw new AppError("BAD_REQUEST", `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  return value;
}

async function readText(request: Request, maxBytes: number): Promise<string> {
  return Buffer.from(await readBytes(request, maxBytes)).toString("utf8");
}

/** The body's bytes, counted as they arrive (chunked or streamed bodies announce no length): 413 past `maxBytes`. */
async function readBytes(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * The same request with its body read under the limit, for a handler that would otherwise read
 * any amount (tRPC's fetch adapter): 413 `PAYLOAD_TOO_LARGE` before anything is parsed.
 */
export async function withBodyLimit(request: Request, maxBytes: number): Promise<Request> {
  if (!request.body || request.method === "GET" || request.method === "HEAD") return request;
  const announced = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(announced) && announced > maxBytes) throw tooLarge(maxBytes);
  const body = await readBytes(request, maxBytes);
  const headers = new Headers(request.headers);
  headers.delete("transfer-encoding");
  headers.set("content-length", String(body.byteLength));
  return new Request(request.url, { method: request.method, headers, body, signal: request.signal });
}

function tooLarge(maxBytes: number): AppError {
  return new AppError("PAYLOAD_TOO_LARGE", `The request body exceeds ${maxBytes} bytes.`);
}

/** Iterative, so a hostile depth cannot overflow the stack here. */
function depthExceeds(root: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const next = stack.pop();
    if (!next) break;
    const [value, depth] = next;
    if (value === null || typeof value !== "object") continue;
    if (depth > limit) return true;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Parses with a zod schema; failures are 422 with `detail` as `{loc, msg, type}` issues. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, location: "body" | "query" | "path"): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, [location]);
  return parsed.data;
}

export function queryObject(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of url.searchParams) out[key] = value;
  return out;
}
