import { ConflictResolution, ConflictType } from "@repensar/contracts";

// The wire's names, defined once in the contract.
export { ConflictType };
/** How a conflict is settled: keep the server's row, apply the client's change, or write `merged_data`. */
export const ResolutionKind = ConflictResolution;
export type ResolutionKind = ConflictResolution;

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
