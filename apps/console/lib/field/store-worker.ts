// The field app's store worker (built to public/app/store-worker.js by scripts/build-field-app.mjs).
import { runStoreWorker, type StoreWorkerScope } from "@repensar/sync-client/browser/worker";

const scope: StoreWorkerScope = self;
runStoreWorker(scope);
