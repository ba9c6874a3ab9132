// What a store worker's entry needs: `runStoreWorker(self)`, and the OPFS store itself.
export { runStoreWorker, type StoreWorkerScope } from "./store-worker";
export { openOpfsStore, deleteOpfsFile, opfsPool, type OpfsStoreOptions } from "./opfs-store";
