// The page side of the browser client. The store worker's entry imports `./worker` instead: that
// one loads SQLite's WebAssembly, which a page never needs.
export { connectBrowserStore, type BrowserStore, type BrowserStoreWorker } from "./remote-store";
export type { StoreMethod } from "./protocol";
