export {
  type EntityDefinition,
  type EntityType,
  type EntityValidation,
  type EntityValidationIssue,
  type FieldDefinition,
  EntityTypeSchema,
  FieldKind,
  ReferenceOnMissing,
  ResolutionPolicy,
  anchoredPattern,
  entityDefinitions,
  entitySchemas,
  entityTypes,
  isEntityType,
  isSystemField,
  systemFields,
  unmergeableFields,
  validateEntityData,
  withoutSystemFields,
} from "./entities";
export {
  type AppErrorOptions,
  type ErrorCatalogEntry,
  type ErrorCode,
  type TrpcErrorCode,
  AppError,
  ErrorBody,
  ValidationIssue,
  errorCatalog,
  errorCodes,
  isAppError,
  isErrorCode,
  trpcErrorCodes,
  validationError,
  validationIssues,
} from "./errors";
export { AuditEvent, auditEvents } from "./audit";
export { canonicalJson, entityFingerprint, schemaFingerprints, syncSchema } from "./fingerprint";
export { EntitySchema, FieldDefinitionSchema, SchemaFingerprints, SyncSchemaResponse } from "./messages/schema";
export {
  MERGE_PROTOCOL_VERSION,
  MIN_SUPPORTED_PROTOCOL_VERSION,
  PROTOCOL_HEADER,
  PROTOCOL_VERSION,
  isSupportedProtocolVersion,
  protocolVersionOf,
} from "./protocol";
export {
  DeviceId,
  EntityId,
  MessageResponse,
  PlainObject,
  ResponseId,
  Role,
  RoleSchema,
  ClientInstant,
  MAX_INSTANT_MS,
  MIN_CLIENT_INSTANT_MS,
  MIN_INSTANT_MS,
  Text,
  Timestamp,
  instantOutOfRangeIssue,
  isStorableInstant,
  isStorableText,
  isoInstantMs,
  unstorableTextIssue,
} from "./messages/common";
export {
  JsonWebKey,
  JwksResponse,
  LoginRequest,
  LogoutRequest,
  LogoutResponse,
  MeResponse,
  RefreshRequest,
  RegisterRequest,
  TokenResponse,
  TokenUser,
} from "./messages/auth";
export { ChangePasswordRequest, ChangePasswordResponse } from "./messages/password";
export {
  Device,
  DeviceListQuery,
  DeviceListResponse,
  DevicePlatform,
  DevicePlatformSchema,
  DeviceRegisterRequest,
  DeviceRegisterResponse,
  DeviceRevokeResponse,
  DeviceType,
  DeviceTypeSchema,
} from "./messages/devices";
export {
  DEFAULT_PULL_LIMIT,
  EntityChange,
  MAX_PULL_LIMIT,
  Operation,
  OperationSchema,
  PullRequest,
  PullRequestWithKnownTypes,
  PullResponse,
  unknownEntityTypes,
} from "./messages/pull";
export {
  type SuggestedResolution,
  ConflictData,
  ConflictResolution,
  ConflictResolutionSchema,
  ConflictType,
  ConflictTypeSchema,
  MAX_PUSH_CHANGES,
  PushChange,
  PushRequest,
  PushResponse,
  PushResult,
  PushResultStatus,
  SuggestedResolutionSchema,
} from "./messages/push";
export {
  ConflictListQuery,
  ConflictListResponse,
  ResolveConflictRequest,
  ResolveConflictResponse,
} from "./messages/conflicts";
export { EntitySyncState, SyncStatusQuery, SyncStatusResponse } from "./messages/status";
export { SyncPoke } from "./messages/events";
export { openApiDocument } from "./openapi";
