/** Why a pushed change could not be applied as it stands. */
export const ConflictType = {
  /** An UPDATE based on a version the row has since moved past. */
  VersionMismatch: "version_mismatch",
  /** An UPDATE of a row the server has deleted. */
  UpdateOnDeleted: "update_on_deleted",
  /** A DELETE of a row that moved on since the version the client saw. */
  DeleteOnModified: "delete_on_modified",
  /** A CREATE of an id that already exists with other data, or as a tombstone. */
  CreateExists: "create_exists",
} as const;
export type ConflictType = (typeof ConflictType)[keyof typeof ConflictType];

/** How a conflict is settled: keep the server's row, apply the client's change, or write `merged_data`. */
export const ResolutionKind = {
  ServerWins: "server_wins",
  ClientWins: "client_wins",
  Manual: "manual",
} as const;
export type ResolutionKind = (typeof ResolutionKind)[keyof typeof ResolutionKind];

export type Resolution =
  | { resolution: typeof ResolutionKind.ServerWins }
  | { resolution: typeof ResolutionKind.ClientWins }
  | { resolution: typeof ResolutionKind.Manual; merged_data: Record<string, unknown> };

/** What a strategy needs to know about a recorded conflict. Fields carry the wire's names. */
export interface ConflictCase {
  conflict_type: ConflictType;
  /** The client's change: the whole row for CREATE, the changed fields for UPDATE, `{}` for DELETE. */
  client_data: Readonly<Record<string, unknown>>;
  /** The server row's own fields when the conflict was detected. */
  server_data: Readonly<Record<string, unknown>>;
  /** The row's fields at the version the client's change was based on, when known. */
  base_data?: Readonly<Record<string, unknown>> | null | undefined;
  /** ISO-8601 instants; needed by `last_write_wins` only. */
  client_modified_at?: string | null | undefined;
  server_modified_at?: string | null | undefined;
  /** The server row is a tombstone (always so for `update_on_deleted`; possible for `create_exists`). */
  server_deleted?: boolean | undefined;
}
