import { uuidv7 } from "../id";
import type { LocalStore } from "../local-store";
import { openOpfsStore, type OpfsStoreOptions } from "./opfs-store";
import {
  readMethods,
  serializeError,
  type ChannelMessage,
  type PageMessage,
  type SerializedError,
  type StoreMethod,
  type WorkerMessage,
} from "./protocol";

/**
 * The store worker: one per tab. The OPFS pool's access handles are exclusive, so of all the
 * tabs of an origin one worker owns the database at a time, elected with a Web Lock; the others
 * forward their page's calls to it over a BroadcastChannel. When the owner's tab closes its lock
 * is released, the next worker in line opens the database and announces itself, and the others
 * resend what was still unanswered (the owner ignores a call it has already answered).
 *
 *   page --postMessage--> worker ──owner?──yes──> LocalStore (engine + SQLite WASM + OPFS)
 *                              └──no──> BroadcastChannel ──> owner's worker ──> reply
 *
 * After every call that may have written, the owner tells every page ("changed"), which is what
 * the pages' `subscribe`/`watch` re-render from.
 */
export interface StoreWorkerScope {
  postMessage(message: WorkerMessage): void;
  addEventListener(type: "message", listener: (event: MessageEvent<PageMessage>) => void): void;
}

export function runStoreWorker(scope: StoreWorkerScope, options: Omit<OpfsStoreOptions, "file"> = {}): void {
  let started = false;
  scope.addEventListener("message", (event) => {
    const message = event.data;
    if (message.type === "open" && !started) {
      started = true;
      serve(scope, message.name, options);
    }
  });
}

type Reply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: SerializedError };

function serve(scope: StoreWorkerScope, name: string, options: Omit<OpfsStoreOptions, "file">): void {
  const self = uuidv7();
  const channel = new BroadcastChannel(`repensar-store:${name}`);
  let store: LocalStore | null = null;
  /** Calls that arrived while the database was opening. */
  const waiting: ChannelMessage[] = [];
  /** This page's calls forwarded to the owner and not answered yet, by id. */
  const forwarded = new Map<number, Extract<ChannelMessage, { type: "call" }>>();
  /** Calls from other workers this owner has answered, so a resend is not applied twice. */
  const answered = new Map<string, Reply>();

  async function call(method: StoreMethod, args: readonly unknown[]): Promise<Reply> {
    if (!store) throw new Error("The store is not open");
    try {
      const fn = store[method] as (...params: unknown[]) => Promise<unknown>;
      const value = await fn(...args);
      return { ok: true, value };
    } catch (error) {
      return { ok: false, error: serializeError(error) };
    } finally {
      if (!readMethods.has(method)) {
        channel.postMessage({ type: "changed" } satisfies ChannelMessage);
        scope.postMessage({ type: "changed" });
      }
    }
  }

  async function answerRemote(message: Extract<ChannelMessage, { type: "call" }>): Promise<void> {
    const key = `${message.from}:${message.id}`;
    const reply = answered.get(key) ?? (await call(message.method, message.args));
    answered.set(key, reply);
    if (answered.size > 10_000) {
      const oldest = answered.keys().next();
      if (!oldest.done) answered.delete(oldest.value);
    }
    channel.postMessage({ type: "reply", to: message.from, id: message.id, ...reply } satisfies ChannelMessage);
  }

  channel.addEventListener("message", (event: MessageEvent<ChannelMessage>) => {
    const message = event.data;
    switch (message.type) {
      case "call":
        if (store) void answerRemote(message);
        else if (owning) waiting.push(message);
        return;
      case "reply":
        if (message.to !== self || !forwarded.delete(message.id)) return;
        scope.postMessage(message.ok ? { type: "reply", id: message.id, ok: true, value: message.value } : { type: "reply", id: message.id, ok: false, error: message.error });
        return;
      case "owner":
        // A new owner: whatever the previous one left unanswered goes to it.
        for (const pending of forwarded.values()) channel.postMessage(pending);
        return;
      case "changed":
        scope.postMessage({ type: "changed" });
        return;
    }
  });

  let owning = false;
  scope.addEventListener("message", (event) => {
    const message = event.data;
    if (message.type !== "call") return;
    if (store) {
      void call(message.method, message.args).then((reply) => scope.postMessage({ type: "reply", id: message.id, ...reply }));
      return;
    }
    const forward = { type: "call", from: self, id: message.id, method: message.method, args: message.args } as const;
    forwarded.set(message.id, forward);
    if (owning) waiting.push(forward);
    else channel.postMessage(forward);
  });

  scope.postMessage({ type: "role", owner: false });
  void navigator.locks
    .request(`repensar-store:${name}`, async () => {
      owning = true;
      const opened = await openOpfsStore({ ...options, file: `/${name}.db` });
      store = opened;
      scope.postMessage({ type: "role", owner: true });
      // This page's own forwarded calls, and other workers' calls that came in while opening.
      const own = [...forwarded.values()];
      forwarded.clear();
      for (const message of own) {
        void call(message.method, message.args).then((reply) => scope.postMessage({ type: "reply", id: message.id, ...reply }));
      }
      for (const message of waiting.splice(0)) {
        if (message.type === "call" && message.from !== self) void answerRemote(message);
      }
      channel.postMessage({ type: "owner", id: self } satisfies ChannelMessage);
      // Held for the worker's life: the lock goes with the tab.
      await new Promise<never>(() => undefined);
    })
    .catch((error: unknown) => scope.postMessage({ type: "failed", error: serializeError(error) }));
}
