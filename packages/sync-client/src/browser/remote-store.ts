import type { LocalStore } from "../local-store";
import { deserializeError, type PageMessage, type StoreMethod, type WorkerMessage } from "./protocol";

/**
 * The LocalStore as a page sees it: every call goes to the tab's store worker (`store-worker.ts`)
 * and comes back as a promise, with the store's own errors. `transaction` is the one method it
 * lacks, since a synchronous callback cannot cross to the worker; `putMany` is the bulk write.
 *
 * `subscribe` hears of every change any tab of the origin makes (a local write, a pulled page, a
 * settled push); `watch` re-runs a query on each and hands its newest result to the UI.
 */
export interface BrowserStore extends Omit<LocalStore, "transaction"> {
  subscribe(listener: () => void): () => void;
  watch<T>(query: (store: BrowserStore) => Promise<T>, onValue: (value: T) => void, onError?: (error: unknown) => void): () => void;
  /** Whether this tab's worker owns the database (the others forward to it). */
  readonly owner: boolean;
}

export interface BrowserStoreWorker {
  postMessage(message: PageMessage): void;
  addEventListener(type: "message", listener: (event: MessageEvent<WorkerMessage>) => void): void;
  terminate(): void;
}

export function connectBrowserStore(worker: BrowserStoreWorker, name = "repensar"): BrowserStore {
  let nextId = 0;
  let owner = false;
  let failure: Error | null = null;
  let closed = false;
  const calls = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const listeners = new Set<() => void>();

  worker.addEventListener("message", (event) => {
    const message = event.data;
    switch (message.type) {
      case "reply": {
        const pending = calls.get(message.id);
        if (!pending) return;
        calls.delete(message.id);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(deserializeError(message.error));
        return;
      }
      case "changed":
        for (const listener of [...listeners]) listener();
        return;
      case "role":
        owner = message.owner;
        return;
      case "failed":
        failure = deserializeError(message.error);
        for (const pending of calls.values()) pending.reject(failure);
        calls.clear();
        return;
    }
  });
  worker.postMessage({ type: "open", name });

  function call<T>(method: StoreMethod, ...args: unknown[]): Promise<T> {
    if (failure) return Promise.reject(failure);
    if (closed) return Promise.reject(new Error("The local store is closed"));
    const id = ++nextId;
    return new Promise<T>((resolve, reject) => {
      calls.set(id, { resolve: (value) => resolve(value as T), reject });
      worker.postMessage({ type: "call", id, method, args });
    });
  }

  const store: BrowserStore = {
    get owner() {
      return owner;
    },
    create: (type, data) => call("create", type, data),
    update: (type, id, patch) => call("update", type, id, patch),
    delete: (type, id) => call("delete", type, id),
    get: (type, id, options) => call("get", type, id, options),
    list: (type, options) => call("list", type, options),
    putMany: (type, rows) => call("putMany", type, rows),
    pendingChanges: (limit) => call("pendingChanges", limit),
    pendingCount: () => call("pendingCount"),
    markSent: (changeIds) => call("markSent", changeIds),
    completeChange: (changeId, result) => call("completeChange", changeId, result),
    completeChanges: (results) => call("completeChanges", results),
    recordFailure: (changeId, error) => call("recordFailure", changeId, error),
    recordFailures: (changeIds, error) => call("recordFailures", changeIds, error),
    refuseChange: (changeId, error) => call("refuseChange", changeId, error),
    refusedChanges: () => call("refusedChanges"),
    resendChange: (changeId) => call("resendChange", changeId),
    discardChange: (changeId) => call("discardChange", changeId),
    applyServerChanges: (changes, cursor) => call("applyServerChanges", changes, cursor),
    reconcileServerChanges: (changes) => call("reconcileServerChanges", changes),
    getCursor: () => call("getCursor"),
    setCursor: (cursor) => call("setCursor", cursor),
    syncState: (type, id) => call("syncState", type, id),
    settleChange: (changeId, server) => call("settleChange", changeId, server),
    acceptServerState: (type, id, server) => call("acceptServerState", type, id, server),
    rebaseOnServer: (type, id, server, resolved) => call("rebaseOnServer", type, id, server, resolved),
    getMeta: (key) => call("getMeta", key),
    setMeta: (key, value) => call("setMeta", key, value),
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      worker.terminate();
      for (const pending of calls.values()) pending.reject(new Error("The local store is closed"));
      calls.clear();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    watch(query, onValue, onError) {
      // Runs are numbered so a slow, older answer never replaces a newer one.
      let run = 0;
      let shown = 0;
      let active = true;
      const refresh = () => {
        const mine = ++run;
        query(store).then(
          (value) => {
            if (active && mine > shown) {
              shown = mine;
              onValue(value);
            }
          },
          (error: unknown) => active && onError?.(error),
        );
      };
      const unsubscribe = store.subscribe(refresh);
      refresh();
      return () => {
        active = false;
        unsubscribe();
      };
    },
  };
  return store;
}
