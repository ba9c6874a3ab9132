import { LocalStoreError, LocalStoreErrorCode } from "../errors";
import type { LocalStore } from "../local-store";

/** The LocalStore methods a page may call on the store worker: all but `transaction`, whose callback cannot cross threads. */
export type StoreMethod = Exclude<keyof LocalStore, "transaction" | "close">;

/** Methods that only read: every other one may change what a page shows, so it is announced. */
export const readMethods: ReadonlySet<StoreMethod> = new Set<StoreMethod>([
  "get",
  "list",
  "pendingChanges",
  "pendingCount",
  "refusedChanges",
  "getCursor",
  "syncState",
  "getMeta",
]);

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly issues?: unknown;
}

/** Page -> its worker. */
export type PageMessage =
  | { readonly type: "open"; readonly name: string }
  | { readonly type: "call"; readonly id: number; readonly method: StoreMethod; readonly args: readonly unknown[] };

/** Worker -> its page. */
export type WorkerMessage =
  | { readonly type: "reply"; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: "reply"; readonly id: number; readonly ok: false; readonly error: SerializedError }
  | { readonly type: "changed" }
  | { readonly type: "role"; readonly owner: boolean }
  | { readonly type: "failed"; readonly error: SerializedError };

/** Between the workers of one origin, over a BroadcastChannel. */
export type ChannelMessage =
  | { readonly type: "call"; readonly from: string; readonly id: number; readonly method: StoreMethod; readonly args: readonly unknown[] }
  | { readonly type: "reply"; readonly to: string; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: "reply"; readonly to: string; readonly id: number; readonly ok: false; readonly error: SerializedError }
  | { readonly type: "owner"; readonly id: string }
  | { readonly type: "changed" };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof LocalStoreError) return { name: error.name, message: error.message, code: error.code, issues: error.issues };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

const codes: ReadonlySet<string> = new Set(Object.values(LocalStoreErrorCode));
const isCode = (code: string | undefined): code is LocalStoreErrorCode => code !== undefined && codes.has(code);

/** The error as the store threw it: a LocalStoreError keeps its code and issues. */
export function deserializeError(error: SerializedError): Error {
  if (error.name === "LocalStoreError" && isCode(error.code)) {
    const issues = Array.isArray(error.issues) ? error.issues : [];
    return new LocalStoreError(error.code, error.message, { issues });
  }
  const copy = new Error(error.message);
  copy.name = error.name;
  return copy;
}
