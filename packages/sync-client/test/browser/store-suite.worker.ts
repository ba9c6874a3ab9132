// The shared LocalStore suite, run in a dedicated worker against the browser store (SQLite WASM
// in OPFS), each test on a database file of its own that is deleted once the test has closed it.
import { deleteOpfsFile, openOpfsStore } from "../../src/browser/opfs-store";
import type { LocalStore } from "../../src/local-store";
import { localStoreSuite } from "../../src/stores/store-suite";
// @ts-expect-error: the shim is plain JavaScript; esbuild resolves it in place of vitest.
import { runRegistered } from "vitest";

interface Result {
  readonly name: string;
  readonly ok: boolean;
  readonly error: string | null;
}

let files = 0;
const directory = "/repensar-store-suite";

async function suiteStore(): Promise<LocalStore> {
  const file = `/suite-${++files}.db`;
  const store = await openOpfsStore({ file, directory });
  return {
    ...store,
    close: async () => {
      await store.close();
      await deleteOpfsFile(file, directory);
    },
  };
}

localStoreSuite("sqlite wasm (opfs-sahpool)", suiteStore);

const run: (onResult: (result: Result) => void) => Promise<Result[]> = runRegistered;
const scope: { postMessage(message: unknown): void } = self;
run((result) => scope.postMessage({ type: "result", result })).then(
  (results) => scope.postMessage({ type: "done", results }),
  (error: unknown) => scope.postMessage({ type: "fatal", error: String(error) }),
);
