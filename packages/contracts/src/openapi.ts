import { z } from "zod";
import { entitySchemas, entityTypes } from "./entities";
import { ErrorBody, type ErrorCode, errorCatalog } from "./errors";
import { PROTOCOL_HEADER, PROTOCOL_VERSION } from "./protocol";
import {
  JwksResponse,
  LoginRequest,
  LogoutRequest,
  LogoutResponse,
  MeResponse,
  RefreshRequest,
  RegisterRequest,
  TokenResponse,
} from "./messages/auth";
import { ConflictListQuery, ConflictListResponse, ResolveConflictRequest, ResolveConflictResponse } from "./messages/conflicts";
import {
  DeviceListQuery,
  DeviceListResponse,
  DeviceRegisterRequest,
  DeviceRegisterResponse,
  DeviceRevokeResponse,
} from "./messages/devices";
import { SyncPoke } from "./messages/events";
import { ChangePasswordRequest, ChangePasswordResponse } from "./messages/password";
import { PullRequest, PullResponse } from "./messages/pull";
import { PushRequest, PushResponse } from "./messages/push";
import { SyncSchemaResponse } from "./messages/schema";
import { SyncStatusQuery, SyncStatusResponse } from "./messages/status";

type JsonObject = Record<string, unknown>;
type Io = "input" | "output";

const JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";

/**
 * A schema as JSON Schema 2020-12. Requests are described as clients may send them (`input`:
 * defaults make a field optional); responses as the server sends them (`output`). A response object
 * is left open (no `additionalProperties: false`): clients must accept fields added later.
 */
function jsonSchema(schema: z.ZodType, io: Io): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    unrepresentable: "throw",
    override: ({ zodSchema, jsonSchema: json }) => {
      const def = zodSchema._zod.def;
      if (io === "output" && def.type === "object" && def.catchall === undefined) {
        delete json.additionalProperties;
      }
    },
  });
  return rest;
}

const capitalized = (name: string): string =>
  name
    .split("_")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");

interface Body {
  readonly name: string;
  readonly schema: z.ZodType;
}

interface Operation {
  readonly method: "get" | "post";
  readonly path: string;
  readonly tag: string;
  readonly summary: string;
  readonly operationId: string;
  /** `user`: bearer access token; `optional`: bearer if the client has one; `none`: public. */
  readonly auth: "user" | "optional" | "none";
  readonly request?: Body;
  readonly query?: z.ZodObject;
  readonly pathParams?: readonly string[];
  readonly response: Body & { readonly status?: number; readonly description: string };
  /** The errors this operation answers with, besides the ones every request may get. */
  readonly errors: readonly ErrorCode[];
}

const AUTH_ERRORS: readonly ErrorCode[] = ["UNAUTHORIZED", "TOKEN_EXPIRED", "TOKEN_INVALID", "TOKEN_REVOKED"];
const DEVICE_ERRORS: readonly ErrorCode[] = [...AUTH_ERRORS, "DEVICE_INACTIVE"];
const BODY_ERRORS: readonly ErrorCode[] = ["VALIDATION_ERROR", "MALFORMED_JSON", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"];
const ANY_REQUEST_ERRORS: readonly ErrorCode[] = ["RATE_LIMITED", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE"];

const operations: readonly Operation[] = [
  {
    method: "post",
    path: "/auth/register",
    tag: "auth",
    summary: "Create an account, with an organization of its own, and sign in",
    operationId: "register",
    auth: "none",
    request: { name: "RegisterRequest", schema: RegisterRequest },
    response: { name: "TokenResponse", schema: TokenResponse, status: 201, description: "Registered and signed in" },
    errors: [...BODY_ERRORS, "EMAIL_TAKEN", "REGISTRATION_DISABLED"],
  },
  {
    method: "post",
    path: "/auth/login",
    tag: "auth",
    summary: "Sign in with email and password",
    operationId: "login",
    auth: "none",
    request: { name: "LoginRequest", schema: LoginRequest },
    response: { name: "TokenResponse", schema: TokenResponse, description: "Signed in" },
    errors: [...BODY_ERRORS, "INVALID_CREDENTIALS", "DEVICE_INACTIVE"],
  },
  {
    method: "post",
    path: "/auth/refresh",
    tag: "auth",
    summary: "Trade a refresh token for a new token pair (the refresh token rotates)",
    operationId: "refresh",
    auth: "none",
    request: { name: "RefreshRequest", schema: RefreshRequest },
    response: { name: "TokenResponse", schema: TokenResponse, description: "New tokens" },
    errors: [...BODY_ERRORS, "REFRESH_TOKEN_INVALID", "REFRESH_TOKEN_REUSED", "DEVICE_INACTIVE"],
  },
  {
    method: "post",
    path: "/auth/logout",
    tag: "auth",
    summary: "Revoke the access token, and the refresh token's family when given",
    operationId: "logout",
    auth: "optional",
    request: { name: "LogoutRequest", schema: LogoutRequest },
    response: { name: "LogoutResponse", schema: LogoutResponse, description: "Signed out" },
    errors: [...BODY_ERRORS, ...AUTH_ERRORS],
  },
  {
    method: "get",
    path: "/auth/me",
    tag: "auth",
    summary: "The signed-in user, organization, role and bound device",
    operationId: "me",
    auth: "user",
    response: { name: "MeResponse", schema: MeResponse, description: "The caller" },
    errors: AUTH_ERRORS,
  },
  {
    method: "post",
    path: "/auth/password",
    tag: "auth",
    summary: "Change the caller's password; every sign-in of theirs ends, this one too",
    operationId: "changePassword",
    auth: "user",
    request: { name: "ChangePasswordRequest", schema: ChangePasswordRequest },
    response: { name: "ChangePasswordResponse", schema: ChangePasswordResponse, description: "Password changed; sign in again" },
    errors: [...BODY_ERRORS, ...AUTH_ERRORS, "INVALID_CREDENTIALS"],
  },
  {
    method: "get",
    path: "/.well-known/jwks.json",
    tag: "auth",
    summary: "Public keys that verify access tokens",
    operationId: "jwks",
    auth: "none",
    response: { name: "JwksResponse", schema: JwksResponse, description: "JSON Web Key Set" },
    errors: [],
  },
  {
    method: "post",
    path: "/sync/device/register",
    tag: "devices",
    summary: "Register a device for sync, or update it",
    operationId: "registerDevice",
    auth: "user",
    request: { name: "DeviceRegisterRequest", schema: DeviceRegisterRequest },
    response: { name: "DeviceRegisterResponse", schema: DeviceRegisterResponse, description: "Registered" },
    errors: [...BODY_ERRORS, ...AUTH_ERRORS, "DEVICE_OWNED_BY_OTHER", "DEVICE_INACTIVE"],
  },
  {
    method: "get",
    path: "/sync/device/list",
    tag: "devices",
    summary: "The caller's devices",
    operationId: "listDevices",
    auth: "user",
    query: DeviceListQuery,
    response: { name: "DeviceListResponse", schema: DeviceListResponse, description: "Devices" },
    errors: ["VALIDATION_ERROR", ...AUTH_ERRORS],
  },
  {
    method: "post",
    path: "/sync/device/{device_id}/revoke",
    tag: "devices",
    summary: "Revoke a device (e.g. a lost phone); its tokens stop working",
    operationId: "revokeDevice",
    auth: "user",
    pathParams: ["device_id"],
    response: { name: "DeviceRevokeResponse", schema: DeviceRevokeResponse, description: "Revoked" },
    errors: [...AUTH_ERRORS, "DEVICE_NOT_FOUND", "FORBIDDEN"],
  },
  {
    method: "post",
    path: "/sync/pull",
    tag: "sync",
    summary: "Changes since the last pull",
    operationId: "pull",
    auth: "user",
    request: { name: "PullRequest", schema: PullRequest },
    response: { name: "PullResponse", schema: PullResponse, description: "A page of changes" },
    errors: [...BODY_ERRORS, ...DEVICE_ERRORS, "UNKNOWN_ENTITY_TYPE", "INVALID_SYNC_TOKEN", "SYNC_RESET_REQUIRED"],
  },
  {
    method: "post",
    path: "/sync/push",
    tag: "sync",
    summary: "Apply local changes, detecting conflicts",
    operationId: "push",
    auth: "user",
    request: { name: "PushRequest", schema: PushRequest },
    response: { name: "PushResponse", schema: PushResponse, description: "What became of each change" },
    errors: [...BODY_ERRORS, ...DEVICE_ERRORS],
  },
  {
    method: "get",
    path: "/sync/conflicts",
    tag: "conflicts",
    summary: "Sync conflicts of the caller's devices",
    operationId: "listConflicts",
    auth: "user",
    query: ConflictListQuery,
    response: { name: "ConflictListResponse", schema: ConflictListResponse, description: "Conflicts" },
    errors: ["VALIDATION_ERROR", ...AUTH_ERRORS],
  },
  {
    method: "post",
    path: "/sync/conflicts/{conflict_id}/resolve",
    tag: "conflicts",
    summary: "Resolve a conflict",
    operationId: "resolveConflict",
    auth: "user",
    pathParams: ["conflict_id"],
    request: { name: "ResolveConflictRequest", schema: ResolveConflictRequest },
    response: { name: "ResolveConflictResponse", schema: ResolveConflictResponse, description: "Resolved" },
    errors: [...BODY_ERRORS, ...AUTH_ERRORS, "CONFLICT_NOT_FOUND", "CONFLICT_ALREADY_RESOLVED", "CONFLICT_STALE"],
  },
  {
    method: "get",
    path: "/sync/status",
    tag: "sync",
    summary: "Sync status of a device",
    operationId: "syncStatus",
    auth: "user",
    query: SyncStatusQuery,
    response: { name: "SyncStatusResponse", schema: SyncStatusResponse, description: "Status" },
    errors: ["VALIDATION_ERROR", ...AUTH_ERRORS, "DEVICE_NOT_FOUND"],
  },
  {
    method: "get",
    path: "/sync/schema",
    tag: "sync",
    summary: "The entity definitions this server syncs, each with its schema fingerprint",
    operationId: "syncSchema",
    auth: "user",
    response: { name: "SyncSchemaResponse", schema: SyncSchemaResponse, description: "Entity definitions" },
    errors: AUTH_ERRORS,
  },
];

function errorResponses(codes: readonly ErrorCode[]): JsonObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...codes, ...ANY_REQUEST_ERRORS]) {
    const status = errorCatalog[code].http;
    const list = byStatus.get(status) ?? [];
    if (!list.includes(code)) list.push(code);
    byStatus.set(status, list);
  }
  const responses: JsonObject = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: list.map((code) => `\`${code}\`: ${errorCatalog[code].message}`).join("; "),
      content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorBody" } } },
    };
  }
  return responses;
}

function queryParameters(query: z.ZodObject): JsonObject[] {
  const json = jsonSchema(query, "input");
  const properties = (json.properties ?? {}) as Record<string, JsonObject>;
  const required = new Set(Array.isArray(json.required) ? json.required : []);
  return Object.entries(properties).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return {
      name,
      in: "query",
      required: required.has(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });

/** The REST API as an OpenAPI 3.1 document, generated from the contract's schemas. */
export function openApiDocument(): Record<string, unknown> {
  const schemas: Record<string, JsonObject> = {};
  const addSchema = (body: Body, io: Io): void => {
    schemas[body.name] ??= jsonSchema(body.schema, io);
  };
  addSchema({ name: "ErrorBody", schema: ErrorBody }, "output");

  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const op of operations) {
    const parameters: JsonObject[] = [
      { $ref: "#/components/parameters/ProtocolVersion" },
      ...(op.pathParams ?? []).map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
      ...(op.query ? queryParameters(op.query) : []),
    ];
    const operation: JsonObject = {
      operationId: op.operationId,
      summary: op.summary,
      tags: [op.tag],
      parameters,
      responses: {
        [String(op.response.status ?? 200)]: {
          description: op.response.description,
          content: { "application/json": { schema: ref(op.response.name) } },
        },
        ...errorResponses(op.errors),
      },
    };
    addSchema(op.response, "output");
    if (op.request) {
      addSchema(op.request, "input");
      operation.requestBody = { required: true, content: { "application/json": { schema: ref(op.request.name) } } };
    }
    if (op.auth === "none") operation.security = [];
    if (op.auth === "optional") operation.security = [{ bearerAuth: [] }, {}];
    (paths[op.path] ??= {})[op.method] = operation;
  }

  paths["/sync/events"] = {
    get: {
      operationId: "syncEvents",
      summary: "Server-Sent Events: a `poke` names the entity types that changed; then pull",
      tags: ["sync"],
      parameters: [{ $ref: "#/components/parameters/ProtocolVersion" }],
      responses: {
        "200": {
          description: "An event stream; each `poke` event's data is a SyncPoke",
          content: { "text/event-stream": { schema: { type: "string" } } },
        },
        ...errorResponses(AUTH_ERRORS),
      },
    },
  };
  addSchema({ name: "SyncPoke", schema: SyncPoke }, "output");

  for (const type of entityTypes) {
    const { full, patch } = entitySchemas(type);
    schemas[capitalized(type)] = { ...jsonSchema(full, "input"), description: `A ${type}'s own fields (CREATE, manual resolution)` };
    schemas[`${capitalized(type)}Patch`] = { ...jsonSchema(patch, "input"), description: `An UPDATE of a ${type}: any subset of its fields` };
  }

  return {
    openapi: "3.1.0",
    jsonSchemaDialect: JSON_SCHEMA_DIALECT,
    info: {
      title: "Repensar Sync API",
      version: String(PROTOCOL_VERSION),
      description:
        "Offline-first sync: devices pull and push changes and resolve conflicts. Errors are `{detail, code, request_id}`; " +
        `send \`${PROTOCOL_HEADER}\` with the protocol version the client speaks.`,
    },
    tags: [
      { name: "auth", description: "Accounts and tokens" },
      { name: "devices", description: "Registered devices" },
      { name: "sync", description: "Pull, push and status" },
      { name: "conflicts", description: "Sync conflicts" },
    ],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      },
      parameters: {
        ProtocolVersion: {
          name: PROTOCOL_HEADER,
          in: "header",
          required: false,
          description: `The sync protocol version the client speaks (absent: 1). This server speaks ${PROTOCOL_VERSION}.`,
          schema: { type: "integer", minimum: 1 },
        },
      },
      schemas,
    },
  };
}
