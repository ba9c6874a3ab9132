/**
 * Entities are defined once, here, and nowhere else: the server's tables (packages/db), the client's
 * SQLite tables (packages/sync-client), the wire validation, the OpenAPI schemas, the database's CHECK
 * constraints and the schema fingerprints are all derived from these definitions. Adding an entity or
 * a field is one edit here plus one generated migration (`pnpm --filter @repensar/db db:generate`).
 *
 * This module holds data only, so a test can run the whole stack under another definition set by
 * substituting it (see the upgrade drill in packages/sync-client).
 */

export const FieldKind = {
  Text: "text",
  Integer: "integer",
  Number: "number",
  Boolean: "boolean",
  /** Calendar date, `YYYY-MM-DD`. */
  Date: "date",
  /** Instant, ISO-8601 with offset. */
  DateTime: "datetime",
  /** List of short strings. */
  TextList: "text[]",
  /** Reference to another entity's id. */
  Ref: "ref",
} as const;
export type FieldKind = (typeof FieldKind)[keyof typeof FieldKind];

export interface FieldDefinition {
  readonly kind: FieldKind;
  readonly required?: boolean;
  /** For `text`: the longest accepted value, in UTF-16 code units (JavaScript's `length`). */
  readonly maxLength?: number;
  /** For `text`: the shortest accepted value, in UTF-16 code units. */
  readonly minLength?: number;
  /**
   * For `text`: a regular expression (JavaScript / JSON Schema syntax, no flags) the whole value
   * must match; it is anchored at both ends, so `[A-Z]{3}` means exactly three capitals.
   */
  readonly pattern?: string;
  /** For `text`: the only accepted values. */
  readonly values?: readonly string[];
  /** For `integer` / `number`: inclusive bounds. */
  readonly min?: number;
  readonly max?: number;
  /** For `ref`: the entity type whose id this field holds, in the same organization. */
  readonly references?: string;
  /**
   * For `ref`: what a push naming an id that is not a live row of `references` does. `reject`
   * (the default) fails the change with `VALIDATION_ERROR` naming the field; `allow` stores it
   * (the row may arrive later, or the reference is informational).
   */
  readonly onMissing?: ReferenceOnMissing;
  /** For `text`: a format check. */
  readonly format?: "email";
  /**
   * `false`: concurrent edits of this field are never merged on the server (e.g. a value that depends
   * on another field): a stale UPDATE that changes it, or meets a change of it, stays a conflict.
   */
  readonly merge?: false;
}

export const ReferenceOnMissing = { Reject: "reject", Allow: "allow" } as const;
export type ReferenceOnMissing = (typeof ReferenceOnMissing)[keyof typeof ReferenceOnMissing];

export const ResolutionPolicy = {
  ServerWins: "server_wins",
  ClientWins: "client_wins",
  LastWriteWins: "last_write_wins",
  Merge: "merge",
} as const;
export type ResolutionPolicy = (typeof ResolutionPolicy)[keyof typeof ResolutionPolicy];

export interface EntityDefinition {
  /** Table name on the server and on the client. */
  readonly table: string;
  readonly fields: Readonly<Record<string, FieldDefinition>>;
  /** What `suggested_resolution` a conflict on this entity carries. */
  readonly conflictPolicy: ResolutionPolicy;
  /** `false`: the server never merges a stale UPDATE of this entity; every one is a conflict. */
  readonly merge?: false;
}

const text = (maxLength: number, extra: Partial<FieldDefinition> = {}): FieldDefinition => ({
  kind: FieldKind.Text,
  maxLength,
  ...extra,
});

export const entityDefinitions = {
  volunteer: {
    table: "volunteers",
    conflictPolicy: ResolutionPolicy.Merge,
    fields: {
      name: text(200, { required: true, minLength: 1 }),
      email: text(320, { format: "email" }),
      // Digits and the punctuation people write numbers with: "+351 912 345 678", "(555) 010-0100".
      phone: text(50, { pattern: "[0-9+()./ -]*" }),
      skills: { kind: FieldKind.TextList },
      status: text(20, { values: ["active", "inactive", "pending"] }),
      notes: text(10_000),
    },
  },
  project: {
    table: "projects",
    conflictPolicy: ResolutionPolicy.Merge,
    fields: {
      name: text(200, { required: true, minLength: 1 }),
      description: text(10_000),
      status: text(20, { values: ["planned", "active", "completed", "cancelled"] }),
      start_date: { kind: FieldKind.Date },
      // Set against start_date: a stale edit of either is not merged with an edit of the other.
      end_date: { kind: FieldKind.Date, merge: false },
      location: text(500),
    },
  },
  task: {
    table: "tasks",
    conflictPolicy: ResolutionPolicy.Merge,
    fields: {
      title: text(300, { required: true, minLength: 1 }),
      project_id: { kind: FieldKind.Ref, references: "project", required: true },
      description: text(10_000),
      status: text(20, { values: ["todo", "in_progress", "done", "cancelled"] }),
      priority: text(20, { values: ["low", "medium", "high", "urgent"] }),
      assignee_volunteer_id: { kind: FieldKind.Ref, references: "volunteer" },
      due_date: { kind: FieldKind.Date },
    },
  },
  time_entry: {
    table: "time_entries",
    conflictPolicy: ResolutionPolicy.ServerWins,
    // Hours worked are a record someone answers for: two offline edits of one entry are for a person to settle.
    merge: false,
    fields: {
      volunteer_id: { kind: FieldKind.Ref, references: "volunteer", required: true },
      date: { kind: FieldKind.Date, required: true },
      hours: { kind: FieldKind.Number, required: true, min: 0, max: 24 },
      project_id: { kind: FieldKind.Ref, references: "project" },
      task_id: { kind: FieldKind.Ref, references: "task" },
      notes: text(10_000),
    },
  },
} as const satisfies Record<string, EntityDefinition>;

