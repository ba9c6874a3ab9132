import type { EntityValidationIssue } from "@repensar/contracts";

/**
 * What a local store refuses. Codes reuse the wire catalog's names where the meaning is the same,
 * so an app can show one message for "not valid" whether the server or the device said it.
 */
export const LocalStoreErrorCode = {
  /** `data` or a patch does not fit the entity definition; `issues` names the fields. */
  ValidationError: "VALIDATION_ERROR",
  /** The entity type is not defined. */
  UnknownEntityType: "UNKNOWN_ENTITY_TYPE",
  /** update/delete of a row that does not exist locally, or is deleted. */
  EntityNotFound: "ENTITY_NOT_FOUND",
  /** create with an id that already exists locally (live or deleted). */
  EntityExists: "ENTITY_EXISTS",
  /** An outbox operation named a change id that is not in the outbox. */
  ChangeNotFound: "CHANGE_NOT_FOUND",
  /** The store was used after `close()`. */
  StoreClosed: "STORE_CLOSED",
  /** A transaction callback returned a promise, or its writer was used after the transaction ended. */
  InvalidTransaction: "INVALID_TRANSACTION",
  /** The stored data cannot be read back (a corrupt token file, a row that is not JSON). */
  CorruptData: "CORRUPT_DATA",
} as const;
export type LocalStoreErrorCode = (typeof LocalStoreErrorCode)[keyof typeof LocalStoreErrorCode];

export class LocalStoreError extends Error {
  override readonly name = "LocalStoreError";
  readonly code: LocalStoreErrorCode;
  readonly issues: readonly EntityValidationIssue[];

  constructor(code: LocalStoreErrorCode, message: string, options: { issues?: readonly EntityValidationIssue[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
  }
}
