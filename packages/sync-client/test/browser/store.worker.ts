import { runStoreWorker, type StoreWorkerScope } from "../../src/browser/worker";

const scope: StoreWorkerScope = self;
runStoreWorker(scope, { directory: "/repensar-remote-test" });
