// The browser bench's page: an initial sync with the SyncManager on the page and the store in
// its worker, the way the field app runs, or all of it inside the worker.
import { connectBrowserStore } from "../../src/browser/remote-store";
import { initialSync, type SyncTiming } from "./initial-sync";

type Result = SyncTiming & { readonly openMs: number };

declare global {
  interface Window {
    benchOnPage(rows: number): Promise<Result>;
    benchInWorker(rows: number): Promise<Result>;
  }
}

window.benchOnPage = async (rows) => {
  const opening = performance.now();
  const store = connectBrowserStore(new Worker("/sync.worker.js", { type: "module" }), "bench-on-page");
  await store.getCursor(); // the database is open once it answers
  const openMs = performance.now() - opening;
  const timing = await initialSync(store, rows);
  await store.close();
  return { openMs, ...timing };
};

window.benchInWorker = (rows) =>
  new Promise((resolve, reject) => {
    const worker = new Worker("/sync.worker.js", { type: "module" });
    worker.onmessage = (event: MessageEvent<{ type: string; error?: string } & Result>) => {
      if (event.data.type === "bench-done") resolve(event.data);
      else if (event.data.type === "bench-failed") reject(new Error(event.data.error));
      else return;
      worker.terminate();
    };
    worker.postMessage({ type: "bench", rows });
  });
