import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";

const createdAt = () => timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow();
const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** One row: the database's identity. A sync token from another epoch means the data was reset. */
export const serverMeta = pgTable("server_meta", {
  id: integer("id").primaryKey().default(1),
  epoch: uuid("epoch").notNull().defaultRandom(),
  createdAt: createdAt(),
});

export const organizations = pgTable("organizations", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull(),
  createdAt: createdAt(),
});

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Stored lower-cased; unique across the installation. */
    email: text("email").notNull(),
    name: text("name").notNull(),
    passwordHash: text("password_hash").notNull(),
    createdAt: createdAt(),
    disabledAt: at("disabled_at"),
  },
  (t) => [uniqueIndex("users_email_key").on(t.email)],
);

/** A user belongs to one organization, as `admin` or `member`. */
export const memberships = pgTable(
  "memberships",
  {
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ["admin", "member"] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] }), uniqueIndex("memberships_user_key").on(t.userId)],
);

export const invitations = pgTable(
  "invitations",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: ["admin", "member"] }).notNull(),
    /** SHA-256 of the invitation secret; the secret itself is shown once. */
    tokenHash: text("token_hash").notNull(),
    invitedByUserId: uuid("invited_by_user_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    expiresAt: at("expires_at").notNull(),
    acceptedAt: at("accepted_at"),
  },
  (t) => [uniqueIndex("invitations_token_key").on(t.tokenHash), index("invitations_org_idx").on(t.orgId)],
);

/** Console sessions: the id is the SHA-256 of the cookie's random token. */
export const consoleSessions = pgTable(
  "console_sessions",
  {
    id: text("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    expiresAt: at("expires_at").notNull(),
  },
  (t) => [index("console_sessions_user_idx").on(t.userId)],
);

export const devices = pgTable(
  "devices",
  {
    deviceId: text("device_id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    deviceName: text("device_name").notNull(),
    deviceType: text("device_type").notNull(),
    platform: text("platform").notNull(),
    osVersion: text("os_version"),
    appVersion: text("app_version"),
    pushToken: text("push_token"),
    lastSyncAt: at("last_sync_at"),
    lastSeenAt: at("last_seen_at"),
    isActive: boolean("is_active").notNull().default(true),
    registeredAt: at("registered_at").notNull().defaultNow(),
    revokedAt: at("revoked_at"),
  },
  (t) => [
    index("devices_org_idx").on(t.orgId),
    index("devices_user_idx").on(t.userId),
    // Every instance reads recent revocations by this position once a second.
    index("devices_revoked_idx").on(t.revokedAt).where(sql`${t.revokedAt} is not null`),
  ],
);

/** Refresh tokens come in families (one login); reuse of a rotated token revokes the family. */
export const refreshTokenFamilies = pgTable(
  "refresh_token_families",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    deviceId: text("device_id").references(() => devices.deviceId, { onDelete: "cascade" }),
    createdAt: createdAt(),
    /** Absolute: rotation never extends it. */
    expiresAt: at("expires_at").notNull(),
    revokedAt: at("revoked_at"),
    revokedReason: text("revoked_reason"),
  },
  (t) => [
    index("refresh_token_families_user_idx").on(t.userId),
    index("refresh_token_families_device_idx").on(t.deviceId),
    index("refresh_token_families_revoked_idx").on(t.revokedAt).where(sql`${t.revokedAt} is not null`),
  ],
);

export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    /** SHA-256 of the opaque token. */
    tokenHash: text("token_hash").primaryKey(),
    familyId: uuid("family_id")
      .notNull()
      .references(() => refreshTokenFamilies.id, { onDelete: "cascade" }),
    generation: integer("generation").notNull(),
    createdAt: createdAt(),
    /** Set when this token was exchanged for its successor. */
    rotatedAt: at("rotated_at"),
  },
  (t) => [uniqueIndex("refresh_tokens_family_generation_key").on(t.familyId, t.generation)],
);

/** Access tokens revoked before their expiry (logout). Rows past `expires_at` can be purged. */
export const revokedAccessTokens = pgTable(
  "revoked_access_tokens",
  {
    jti: text("jti").primaryKey(),
    userId: uuid("user_id").notNull(),
    expiresAt: at("expires_at").notNull(),
    revokedAt: at("revoked_at").notNull().defaultNow(),
  },
  (t) => [index("revoked_access_tokens_expiry_idx").on(t.expiresAt), index("revoked_access_tokens_revoked_idx").on(t.revokedAt)],
);

export const deviceSyncState = pgTable(
  "device_sync_state",
  {
    deviceId: text("device_id")
      .notNull()
      .references(() => devices.deviceId, { onDelete: "cascade" }),
    entityType: text("entity_type").notNull(),
    lastSyncedAt: at("last_synced_at"),
    /** The highest change sequence the device has pulled for this type. */
    lastSyncedVersion: bigint("last_synced_version", { mode: "number" }).notNull().default(0),
    /** The device's pull position for this type, as carried in its sync token. */
    cursor: text("cursor"),
    syncMetadata: jsonb("sync_metadata").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.entityType] })],
);

export const syncConflicts = pgTable(
  "sync_conflicts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    deviceId: text("device_id")
      .notNull()
      .references(() => devices.deviceId, { onDelete: "cascade" }),
    changeId: text("change_id"),
    entityType: text("entity_type").notNull(),
    entityId: text("entity_id").notNull(),
    operation: text("operation").notNull(),
    conflictType: text("conflict_type").notNull(),
    clientVersion: integer("client_version").notNull(),
    serverVersion: integer("server_version").notNull(),
    clientData: jsonb("client_data").$type<Record<string, unknown>>().notNull(),
    serverData: jsonb("server_data").$type<Record<string, unknown>>().notNull(),
    /** The row at `client_version`, from its history, when the history still holds it. */
    baseData: jsonb("base_data").$type<Record<string, unknown>>(),
    clientTimestamp: at("client_timestamp"),
    serverTimestamp: at("server_timestamp"),
    suggestedResolution: text("suggested_resolution").notNull(),
    resolution: text("resolution"),
    mergedData: jsonb("merged_data").$type<Record<string, unknown>>(),
    resolvedAt: at("resolved_at"),
    resolvedByUserId: uuid("resolved_by_user_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
  },
  (t) => [
    index("sync_conflicts_org_idx").on(t.orgId, t.createdAt),
    index("sync_conflicts_device_idx").on(t.deviceId, t.resolvedAt),
    index("sync_conflicts_entity_idx").on(t.orgId, t.entityType, t.entityId),
  ],
);

/**
 * Every applied write of an entity row: the row's own fields after the write, which fields it
 * changed, and who wrote it from where. Written by the same transaction as the row; a stale
 * UPDATE finds its base here, and the console lists and restores versions from it. Rows age out
 * with the tombstone retention.
 */
export const entityHistory = pgTable(
  "entity_history",
  {
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    entityType: text("entity_type").notNull(),
    entityId: text("entity_id").notNull(),
    version: integer("version").notNull(),
    /** CREATE, UPDATE or DELETE, as the write left the row. */
    operation: text("operation").notNull(),
    userId: uuid("user_id"),
    deviceId: text("device_id"),
    changedFields: text("changed_fields").array().notNull(),
    /** The row's own fields after the write. */
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    deleted: boolean("deleted").notNull().default(false),
    /** Set when an automatic three-way merge made this version. */
    merged: boolean("merged").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.entityType, t.entityId, t.version] }),
    index("entity_history_created_idx").on(t.createdAt),
  ],
);

/** `(device_id, change_id)` already applied, with the answer given, so a replay gets it again. */
export const processedChanges = pgTable(
  "processed_changes",
  {
    deviceId: text("device_id").notNull(),
    changeId: text("change_id").notNull(),
    orgId: uuid("org_id").notNull(),
    result: jsonb("result").$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.changeId] }), index("processed_changes_created_idx").on(t.createdAt)],
);

export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    orgId: uuid("org_id"),
    userId: uuid("user_id"),
    deviceId: text("device_id"),
    eventType: text("event_type").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    ipAddress: text("ip_address"),
    createdAt: createdAt(),
  },
  (t) => [
    index("audit_log_org_created_idx").on(t.orgId, t.createdAt),
    index("audit_log_device_idx").on(t.deviceId, t.createdAt),
    index("audit_log_event_idx").on(t.orgId, t.eventType, t.createdAt),
  ],
);
