import { createHmac, timingSafeEqual } from "node:crypto";
import { AppError, isEntityType, type EntityType } from "@repensar/contracts";
import { z } from "zod";

/**
 * Where a device stands in one entity type's change stream.
 *
 * `txid`/`seq` is the position: the last row handed out, ordered by (writer's transaction id,
 * sequence). While a full or ISO-`since` sync is under way, `horizon` is the snapshot xmin of its
 * first page: rows written below it (finished before the sync began) are filtered by `old`
 * (`live`: tombstones left out; a number: only rows updated at or after that instant, in ms),
 * rows at or above it are always sent. Once the position passes the horizon, both are dropped.
 */
export interface TypeCursor {
  txid: string;
  seq: string;
  horizon?: string | undefined;
  old?: "live" | number | undefined;
}

export interface SyncTokenPayload {
  /** Format version. */
  v: 1;
  /** User and organization the token was issued to. */
  u: string;
  o: string;
  /** The database epoch: a token from another epoch is worthless. */
  e: string;
  /** Issued at, seconds since the epoch. */
  t: number;
  /** Position per entity type; a type absent here starts with a full sync. */
  c: Partial<Record<EntityType, TypeCursor>>;
  /** Changes handed out since the last pull that ended with `has_more: false` (for the audit). */
  n?: number | undefined;
}

const Digits = z.string().regex(/^\d{1,20}$/);
const TypeCursorSchema = z.strictObject({
  txid: Digits,
  seq: Digits,
  horizon: Digits.optional(),
  old: z.union([z.literal("live"), z.number().int()]).optional(),
});
const PayloadSchema = z.strictObject({
  v: z.literal(1),
  u: z.string(),
  o: z.string(),
  e: z.string(),
  t: z.number().int(),
  c: z.record(z.string(), TypeCursorSchema),
  n: z.number().int().min(0).optional(),
});

function sign(body: string, secret: Uint8Array): string {
  return createHmac("sha256", secret).update(body).digest("base64url");
}

/** `base64url(json).base64url(hmac-sha256)`: opaque to clients, unforgeable without the secret. */
export function encodeSyncToken(payload: SyncTokenPayload, secret: Uint8Array): string {
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${body}.${sign(body, secret)}`;
}

/** Recognises a string meant as a token (as opposed to an ISO-8601 `since`). */
export function looksLikeSyncToken(value: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/.test(value);
}

export interface TokenExpectations {
  userId: string;
  orgId: string;
  epoch: string;
  now: Date;
  retentionDays: number;
}

/**
 * Verifies a token. Tampered, unreadable, or issued to someone else: 400 INVALID_SYNC_TOKEN.
 * Older than the tombstone retention, or from another database epoch: 410 SYNC_RESET_REQUIRED,
 * since the tombstones it would need may be gone.
 */
export function decodeSyncToken(token: string, secret: Uint8Array, expect: TokenExpectations): SyncTokenPayload {
  const invalid = () => new AppError("INVALID_SYNC_TOKEN", "The sync token is not valid; send null for a full sync.");
  const [body, mac, extra] = token.split(".");
  if (body === undefined || mac === undefined || extra !== undefined) throw invalid();
  const expected = Buffer.from(sign(body, secret));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  const parsed = PayloadSchema.safeParse(raw);
  if (!parsed.success) throw invalid();
  const payload = parsed.data;
  if (payload.u !== expect.userId || payload.o !== expect.orgId) throw invalid();
  if (payload.e !== expect.epoch) {
    throw new AppError("SYNC_RESET_REQUIRED", "The server's data was reset since this token was issued; do a full sync.");
  }
  const ageSeconds = expect.now.getTime() / 1000 - payload.t;
  if (ageSeconds > expect.retentionDays * 86_400) {
    throw new AppError(
      "SYNC_RESET_REQUIRED",
      `The sync token is older than the ${expect.retentionDays}-day tombstone retention; do a full sync.`,
    );
  }
  const cursors: Partial<Record<EntityType, TypeCursor>> = {};
  for (const [type, cursor] of Object.entries(payload.c)) {
    if (!isEntityType(type)) continue;
    cursors[type] = {
      txid: cursor.txid,
      seq: cursor.seq,
      ...(cursor.horizon === undefined ? {} : { horizon: cursor.horizon }),
      ...(cursor.old === undefined ? {} : { old: cursor.old }),
    };
  }
  return { v: 1, u: payload.u, o: payload.o, e: payload.e, t: payload.t, c: cursors, n: payload.n };
}

/** Reads a cursor stored in `device_sync_state.cursor`; null when absent or unreadable. */
export function parseStoredCursor(text: string | null): { cursor: TypeCursor; issuedAt: number } | null {
  if (!text) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = z.object({ cursor: TypeCursorSchema, t: z.number().int() }).safeParse(raw);
  if (!parsed.success) return null;
  const { txid, seq, horizon, old } = parsed.data.cursor;
  return {
    cursor: { txid, seq, ...(horizon === undefined ? {} : { horizon }), ...(old === undefined ? {} : { old }) },
    issuedAt: parsed.data.t,
  };
}

export function storedCursor(cursor: TypeCursor, issuedAt: number): string {
  return JSON.stringify({ cursor, t: issuedAt });
}
