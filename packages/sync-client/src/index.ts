export type {
  AppliedChange,
  ApplyServerChangesResult,
  ChangeError,
  EntityData,
  ListOptions,
  LocalRow,
  LocalStore,
  LocalWriter,
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
export { isAuthenticatedOffline, accessTokenExpiry, decodeJwtPayload } from "./tokens/jwt";
export { createApiClient, type ApiClient, type ApiClientOptions, type RevokedReason } from "./api/client";
export { ApiError, ClientErrorCode, isApiError } from "./api/errors";
export {
  SyncManager,
  readLastSyncedAt,
  readParkedConflicts,
  type DeviceInfo,
  type ParkedConflict,
  type SyncEvents,
  type SyncManagerOptions,
  type SyncPhase,
  type SyncStore,
  type SyncProgress,
  type SyncSummary,
} from "./sync-manager";
export {
  callback,
  clientWins,
  conflictCase,
  deferred,
  isResolutionPolicy,
  lastWriteWins,
  merge,
  resolverFor,
  resolvers,
  serverWins,
  suggested,
  type ConflictContext,
  type Resolution,
  type Resolver,
} from "./resolvers";
