// Both halves of the browser bench's worker: a store worker for the page's SyncManager
// ("open" messages, as the app's), or an initial sync run right here on the OPFS store ("bench").
import { openOpfsStore } from "../../src/browser/opfs-store";
import { runStoreWorker, type StoreWorkerScope } from "../../src/browser/store-worker";
import { initialSync } from "./initial-sync";

interface BenchRequest {
  readonly type: "bench";
  readonly rows: number;
}

const scope: StoreWorkerScope & { postMessage(message: unknown): void } = self;
runStoreWorker(scope);
self.addEventListener("message", (event: MessageEvent<BenchRequest | { type: string }>) => {
  const message = event.data;
  if (message.type !== "bench" || !("rows" in message)) return;
  void (async () => {
    try {
      const opening = performance.now();
      const store = await openOpfsStore({ file: "/bench-in-worker.db" });
      const openMs = performance.now() - opening;
      const timing = await initialSync(store, message.rows);
      await store.close();
      scope.postMessage({ type: "bench-done", openMs, ...timing });
    } catch (error) {
      scope.postMessage({ type: "bench-failed", error: String(error) });
    }
  })();
});
