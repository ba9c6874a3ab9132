import { AppError } from "./errors";

/**
 * The sync protocol's version. Clients send theirs in `X-Repensar-Protocol`; a client that sends
 * none is a client written against the source document and is served as version 1.
 *
 * History:
 * - 1: the source document's API (paths and field names), plus, as optional fields: opaque signed
 *      `sync_token`s (ISO-8601 `since` still accepted), per-change `change_id` idempotency,
 *      `results` and `atomic` on push, `create_exists` / `update_on_deleted` / `delete_on_modified`
 *      conflict types, `code` on every error body, and the `/auth/*` endpoints; later, still optional:
 *      `GET /sync/schema` and `schema_fingerprints` on pull and status answers, `base_data` on
 *      conflicts, `merge` on served definitions.
 * - 2: the client reads a push result's `data`: the server may merge a stale UPDATE of fields nobody
 *      else changed and answer it `applied` with `merged: true` and the merged row in `data`. A
 *      version-1 client gets such a change as a conflict, as it always did, since it would take the
 *      new version for its own row and never see the other side's fields.
 */
export const PROTOCOL_VERSION = 2;

/** From this version on, a push may be answered with a server-side merge (see above). */
export const MERGE_PROTOCOL_VERSION = 2;

/** The oldest version the server still speaks. It only ever goes up. */
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;

/** What a client that sends no header speaks: the source document's API. */
const SOURCE_PROTOCOL_VERSION = 1;

/** The request header carrying the client's protocol version; the server answers with its own. */
export const PROTOCOL_HEADER = "X-Repensar-Protocol";

export function isSupportedProtocolVersion(version: number): boolean {
  return Number.isInteger(version) && version >= MIN_SUPPORTED_PROTOCOL_VERSION && version <= PROTOCOL_VERSION;
}

/**
 * The version a request speaks, from its `X-Repensar-Protocol` header (absent: the source's clients,
 * version 1). Throws `UNSUPPORTED_PROTOCOL_VERSION` for a version outside the supported range or a
 * value that is not a whole number.
 */
export function protocolVersionOf(header: string | null | undefined): number {
  const sent = header?.trim() ?? "";
  const text = sent === "" ? String(SOURCE_PROTOCOL_VERSION) : sent;
  const version = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!isSupportedProtocolVersion(version)) {
    throw new AppError(
      "UNSUPPORTED_PROTOCOL_VERSION",
      `Protocol version '${text}' is not supported; this server speaks ${MIN_SUPPORTED_PROTOCOL_VERSION} to ${PROTOCOL_VERSION}`,
    );
  }
  return version;
}
