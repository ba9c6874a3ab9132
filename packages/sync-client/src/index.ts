export type {
  ApplyServerChangesResult,
  ChangeError,
  EntityData,
  ListOptions,
  LocalRow,
  LocalStore,
  PendingChange,
  RowSyncState,
  ServerChange,
  ServerState,
} from "./local-store";
export { Operation } from "./local-store";
export { LocalStoreError, LocalStoreErrorCode } from "./errors";
export { createMemoryStore } from "./stores/memory";
export type { StoreOptions } from "./stores/engine";
export { createMemoryTokenStore, type Tokens, type TokenStore } from "./tokens/token-store";
export { uuidv7 } from "./id";
