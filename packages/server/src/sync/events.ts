import { AppError, type SyncPoke } from "@repensar/contracts";
import { z } from "zod";
import type { ServerContext } from "../context";
import { metricsFor } from "./metrics";

/** One channel for every organization; each instance fans a poke out to its own listeners. */
export const POKE_CHANNEL = "sync:pokes";
/** How soon a client should try again when pub/sub is unreachable. */
const EVENTS_RETRY_AFTER_SECONDS = 5;
/** A comment line now and then keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 25_000;

const PokeMessage = z.object({ org_id: z.string(), entity_types: z.array(z.string()) });

/**
 * Tells every instance's subscribers in the organization that these types changed. Called after
 * the writing transaction committed, so a client that pulls on the poke finds the change (once
 * it has settled below the snapshot xmin). A poke that cannot be sent is logged, not thrown: the
 * change is committed and clients still find it on their next poll.
 */
export async function publishPoke(ctx: ServerContext, orgId: string, entityTypes: string[]): Promise<void> {
  try {
    await ctx.kv.publish(POKE_CHANNEL, JSON.stringify({ org_id: orgId, entity_types: entityTypes }));
  } catch (error) {
    ctx.log.warn("sync poke not published", { error, org_id: orgId });
  }
}

type Listener = (poke: SyncPoke) => void;

interface PokeHub {
  listen(orgId: string, listener: Listener): Promise<() => void>;
}

function createPokeHub(ctx: ServerContext): PokeHub {
  const listeners = new Map<string, Set<Listener>>();
  let subscribed: Promise<unknown> | null = null;
  const dispatch = (message: string) => {
    let parsed: z.infer<typeof PokeMessage>;
    try {
      parsed = PokeMessage.parse(JSON.parse(message));
    } catch (error) {
      ctx.log.warn("unreadable sync poke ignored", { error });
      return;
    }
    for (const listener of listeners.get(parsed.org_id) ?? []) listener({ entity_types: parsed.entity_types });
  };
  return {
    async listen(orgId, listener) {
      // A subscription that failed (Redis down) is forgotten, so the next stream tries again
      // instead of failing until the process restarts. One that succeeded survives outages:
      // the store joins the channel again after every reconnect.
      subscribed ??= ctx.kv.subscribe(POKE_CHANNEL, dispatch).catch((error: unknown) => {
        subscribed = null;
        throw error;
      });
      await subscribed;
      const set = listeners.get(orgId) ?? new Set();
      set.add(listener);
      listeners.set(orgId, set);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(orgId);
      };
    },
  };
}

const hubs = new WeakMap<ServerContext, PokeHub>();
function hubFor(ctx: ServerContext): PokeHub {
  let hub = hubs.get(ctx);
  if (!hub) {
    hub = createPokeHub(ctx);
    hubs.set(ctx, hub);
  }
  return hub;
}

export interface StreamAuthorization {
  /** When the access token that opened the stream expires: the stream ends then. */
  until: Date;
  /** Checked at every heartbeat: a logout or revocation ends the stream. */
  stillAuthorized: () => Promise<boolean>;
  /** How often the stream says it is alive and re-checks the token (default 25 s). */
  heartbeatMs?: number;
}

/**
 * `GET /sync/events`: a Server-Sent Events stream of `poke` events for the caller's organization.
 * It opens with a `ready` event, so a client knows it will hear every later poke, and ends with
 * an `end` event when the token that opened it expires or is revoked (the client reconnects with
 * a fresh token).
 */
export async function pokeStream(ctx: ServerContext, orgId: string, auth: StreamAuthorization): Promise<Response> {
  const encoder = new TextEncoder();
  let closed = false;
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  const send = (text: string) => {
    try {
      controller?.enqueue(encoder.encode(text));
    } catch {
      // The stream was closed under us; `cancel` cleans up.
    }
  };
  let stop: () => void;
  try {
    // Subscribed before answering: when pub/sub is unreachable the client gets a clean 503 to
    // retry on, not a stream that dies at once.
    stop = await hubFor(ctx).listen(orgId, (poke) => send(`event: poke\ndata: ${JSON.stringify(poke)}\n\n`));
  } catch (error) {
    ctx.log.warn("sync events unavailable: pub/sub not reachable", { error });
    throw new AppError("SERVICE_UNAVAILABLE", "Live updates are unavailable for now; keep pulling, and retry later.", {
      headers: { "Retry-After": String(EVENTS_RETRY_AFTER_SECONDS) },
      cause: error,
    });
  }
  let heartbeat: NodeJS.Timeout | undefined;
  let expiry: NodeJS.Timeout | undefined;
  const streams = metricsFor(ctx).eventStreams;
  streams.inc();
  const cleanUp = () => {
    if (closed) return;
    closed = true;
    streams.dec();
    stop();
    if (heartbeat) clearInterval(heartbeat);
    if (expiry) clearTimeout(expiry);
  };
  const body = new ReadableStream<Uint8Array>({
    start: (streamController) => {
      controller = streamController;
      const end = (reason: "token_expired" | "token_revoked") => {
        if (closed) return;
        send(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
        cleanUp();
        try {
          streamController.close();
        } catch {
          // Already closed by the client.
        }
      };
      heartbeat = setInterval(() => {
        void auth.stillAuthorized().then(
          (ok) => (ok ? send(`: keep-alive\n\n`) : end("token_revoked")),
          () => send(`: keep-alive\n\n`),
        );
      }, auth.heartbeatMs ?? HEARTBEAT_MS);
      heartbeat.unref();
      expiry = setTimeout(() => end("token_expired"), Math.max(0, auth.until.getTime() - ctx.now().getTime()));
      expiry.unref();
      send(`retry: 3000\nevent: ready\ndata: {}\n\n`);
    },
    cancel: cleanUp,
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}
