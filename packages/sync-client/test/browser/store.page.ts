// A page that opens the browser store the way an app does, for tests to drive.
import { connectBrowserStore, type BrowserStore } from "../../src/browser/index";

declare global {
  interface Window {
    store: BrowserStore;
    changes: number;
    /** What a test's watch has seen. */
    seen: string[][];
  }
}

window.changes = 0;
window.seen = [];
window.store = connectBrowserStore(new Worker("/store.worker.js", { type: "module" }), "remote-test");
window.store.subscribe(() => (window.changes += 1));
