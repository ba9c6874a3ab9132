import {
  ConflictData,
  ConflictType,
  type DeviceRegisterRequest,
  type EntityType,
  type ResolutionPolicy,
  entityTypes as allEntityTypes,
  isEntityType,
  MAX_PUSH_CHANGES,
  type PushResult,
  type ResolveConflictRequest,
  schemaFingerprints,
} from "@repensar/contracts";
import { ResolutionKind, sameValue, type Resolution } from "@repensar/conflict-engine";
import { z } from "zod";
import type { ApiClient, RevokedReason } from "./api/client";
import { ApiError, isApiError } from "./api/errors";
import { Emitter } from "./events";
import type { AppliedChange, ChangeError, EntityData, LocalStore, PendingChange, RowSyncState, ServerState } from "./local-store";
import { LocalStoreError, LocalStoreErrorCode } from "./errors";
import { resolverFor, suggested, type Resolver } from "./resolvers";
import { materialize, serverStateAfter } from "./outbox";
import { isAuthenticatedOffline } from "./tokens/jwt";
import type { TokenStore } from "./tokens/token-store";

export type DeviceInfo = z.input<typeof DeviceRegisterRequest>;

export interface SyncSummary {
  /** Rows a pull changed on this device (its own pushes seen again are not counted). */
  readonly pulled: number;
  /** Changes the server applied. */
  readonly pushed: number;
  /** Conflicts the server reported (resolved or parked). */
  readonly conflicts: number;
  /** Changes the server refused for good; each stays on the device, held with the reason (`LocalStore.refusedChanges`). */
  readonly failed: number;
}

export type SyncPhase = "register" | "pull" | "push";

export interface SyncProgress extends SyncSummary {
  readonly phase: SyncPhase;
  /** Pull pages applied so far in this sync. */
  readonly pages: number;
}

export interface SyncEvents {
  start: { readonly at: string };
  progress: SyncProgress;
  /** A conflict was reported; `resolution` is what the resolver chose, `null` when it was parked. */
  conflict: { readonly conflict: ConflictData; readonly resolution: Resolution | null };
  /**
   * The server refused a change for good (`failed`). It is not lost: it stays in the outbox, held
   * (`refused_at`, the reason in `last_error`), and the row keeps its local edits. An edit of the row
   * queues it again, `LocalStore.resendChange` re-sends it as it is, and only the user's
   * `LocalStore.discardChange` drops it.
   */
  rejected: { readonly change: PendingChange; readonly error: ChangeError };
  /** A retryable failure; the call is tried again after `delayMs`. */
  retry: { readonly attempt: number; readonly delayMs: number; readonly error: ApiError };
  /** The server's sync token was too old or not one it accepts: the cursor was dropped for a full sync. */
  reset: Record<string, never>;
  /**
   * The type's definition changed (on this client, on the server, or both) since its rows were
   * pulled, or it has never been pulled with fingerprints: it is pulled again in full, once, so the
   * rows hold every value the server has (e.g. a field this client did not keep before).
   */
  repull: { readonly entity_type: EntityType };
  /** The device was revoked or the session ended: tokens are cleared, syncing stops until sign-in. */
  revoked: { readonly reason: RevokedReason };
  done: SyncSummary;
  error: { readonly error: unknown };
}

/** A conflict the resolver left for later, with the app's decision once it has made one. */
export interface ParkedConflict {
  readonly change_id: string;
  readonly conflict: ConflictData;
  /** Chosen but not yet accepted by the server (it was unreachable); sent on the next sync. */
  readonly resolution: Resolution | null;
}

/** What syncing needs of a store: everything but the app's own `transaction` (a browser page's store has none). */
export type SyncStore = Omit<LocalStore, "transaction">;

export interface SyncManagerOptions {
  readonly api: ApiClient;
  readonly store: SyncStore;
  readonly tokens: TokenStore;
  /** Registered with the server once per store (`POST /sync/device/register`). */
  readonly device: DeviceInfo;
  /** Default: what each entity's policy suggests (`suggested_resolution`), parking `manual`. */
  readonly resolver?: Resolver;
  readonly entityTypes?: readonly EntityType[];
  /** Pull page size, per entity type (1-1000). */
  readonly pullLimit?: number;
  /**
   * Changes per push request, at most the server's limit (MAX_PUSH_CHANGES, 1000). Default: the
   * limit. Measured end to end (bench/push.bench.ts): fewer, larger requests upload fastest, and
   * the client's own cost per change is flat from 250 up (100 costs it 1.4-2x more per change).
   */
  readonly pushBatchSize?: number;
  /** Tries per request before a retryable error is given up on. */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter. */
  readonly random?: () => number;
  readonly now?: () => number;
}

const META_DEVICE = "sync.device_registered";
const META_PARKED = "sync.parked_conflicts";
const META_LAST_SYNC = "sync.last_synced_at";
/** Set from a 410 until a full resync has run to its end and dropped the rows the server no longer has. */
const META_FULL_RESYNC = "sync.full_resync";
/**
 * Per entity type, the definitions' fingerprints (this client's, the server's) under which the rows
 * this store holds were last pulled in full. When either changes, the type is pulled again in full.
 */
const META_SCHEMA = "sync.schema_fingerprints";
const RecordedFingerprints = z.record(z.string(), z.object({ client: z.string(), server: z.string().nullable() }));
type RecordedFingerprints = z.infer<typeof RecordedFingerprints>;
/** Push-then-pull rounds per sync; a round only follows one in which a conflict became a new change. */
const MAX_ROUNDS = 5;

const ResolutionSchema = z.union([
  z.object({ resolution: z.literal(ResolutionKind.ServerWins) }),
  z.object({ resolution: z.literal(ResolutionKind.ClientWins) }),
  z.object({ resolution: z.literal(ResolutionKind.Manual), merged_data: z.record(z.string(), z.unknown()) }),
]);
const ParkedList = z.array(z.object({ change_id: z.string(), conflict: ConflictData, resolution: ResolutionSchema.nullable() }));

interface Counts {
  pulled: number;
  pushed: number;
  conflicts: number;
  failed: number;
  pages: number;
}

/**
 * Keeps a LocalStore in step with the server (DESIGN §6).
 *
 * ```
 *          sync()
 *            |
 *   [register device] (once per store)
 *            |
 *   [settle parked conflicts the app has decided]
 *            |
 *      +-> [pull page] --410 / INVALID_SYNC_TOKEN--> cursor = null, full resync --+
 *      |     | apply page + its cursor in one transaction                           |
 *      +-----+ has_more                                                             |
 *            | <--------------------------------------------------------------------+
 *            | full resync complete -> drop rows the server no longer has
 *            |   (one interrupted starts over from null on the next sync)
 *            | a type whose fingerprints (this client's, the server's) changed since its rows
 *            |   were pulled -> pull that type again in full, alone: rows reconciled, cursor kept
 *   [push batch] markSent -> POST /sync/push (same change_ids on retry)
 *            | results matched by index (request order; change_id must agree)
 *            | applied  -> completeChanges(versions): the whole batch in one transaction
 *            | conflict -> resolver -> resolve on server -> settleChange: the row takes the resolved
 *            |             state, edits queued behind the change follow it (or parked for the app,
 *            |             or rebased into a new change if stale)
 *            | failed   -> refuseChange: held on the device with the reason (edits queued behind it fold
 *            |             into it), `rejected`; an edit, resendChange or discardChange answers it
 *            | more pending? push next batch
 *            v
 *   anything pushed? -> pull again (the device reaches the server's versions) -> push round
 *            v
 *          done
 *
 *   any call: retryable (network, 5xx, 429) -> back off (exponential, full jitter, Retry-After) -> retry
 *             401 -> refresh once -> retry (in the ApiClient)
 *             403 DEVICE_INACTIVE / session ended -> tokens cleared -> `revoked` -> stop
 * ```
 */
export class SyncManager {
  readonly #api: ApiClient;
  readonly #store: SyncStore;
  readonly #tokens: TokenStore;
  readonly #device: DeviceInfo;
  readonly #resolver: Resolver;
  readonly #entityTypes: readonly EntityType[];
  readonly #pullLimit: number;
  readonly #pushBatchSize: number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #events = new Emitter<SyncEvents>();
  #running: Promise<SyncSummary> | null = null;
  /** The run after the current one, shared by every call made while the current one runs. */
  #queued: Promise<SyncSummary> | null = null;

  constructor(options: SyncManagerOptions) {
    this.#api = options.api;
    this.#store = options.store;
    this.#tokens = options.tokens;
    this.#device = options.device;
    this.#resolver = options.resolver ?? suggested;
    this.#entityTypes = options.entityTypes ?? allEntityTypes;
    this.#pullLimit = options.pullLimit ?? 500;
    this.#pushBatchSize = Math.max(1, Math.min(MAX_PUSH_CHANGES, options.pushBatchSize ?? MAX_PUSH_CHANGES));
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#baseDelayMs = options.baseDelayMs ?? 500;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  get deviceId(): string {
    return this.#device.device_id;
  }

  on<K extends keyof SyncEvents>(name: K, listener: (payload: SyncEvents[K]) => void): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * One full sync. A call made while one runs may come with a write that run has already passed
   * (its push read the outbox before it): it gets the next run, started once the current one ends
   * and shared by every call made meanwhile, so what was written before the call is always sent.
   */
  sync(): Promise<SyncSummary> {
    if (this.#running === null) return this.#start();
    const settled = () => undefined;
    this.#queued ??= this.#running.then(settled, settled).then(() => {
      this.#queued = null;
      return this.#start();
    });
    return this.#queued;
  }

  #start(): Promise<SyncSummary> {
    const running = this.#run().finally(() => {
      if (this.#running === running) this.#running = null;
    });
    this.#running = running;
    return running;
  }

  /** The source's offline check: the stored access token's `exp` is still ahead (not verified; no revocation check). */
  async isAuthenticatedOffline(): Promise<boolean> {
    return isAuthenticatedOffline(await this.#tokens.load(), this.#now());
  }

  lastSyncedAt(): Promise<string | null> {
    return readLastSyncedAt(this.#store);
  }

  /** Conflicts the resolver left for later, oldest first. */
  parkedConflicts(): Promise<ParkedConflict[]> {
    return readParkedConflicts(this.#store);
  }

  /**
   * Settles a parked conflict by a strategy or an explicit resolution. The decision is kept
   * locally first, then sent; if the server cannot be reached it is sent by the next sync
   * (`sent: false`). Other errors are thrown.
   */
  async resolveParked(conflictId: string, how: ResolutionPolicy | Resolution): Promise<{ resolution: Resolution; sent: boolean }> {
    const parked = (await this.parkedConflicts()).find((entry) => entry.conflict.conflict_id === conflictId);
    if (!parked) throw new LocalStoreError(LocalStoreErrorCode.ChangeNotFound, `No parked conflict ${conflictId}`);
    let resolution: Resolution;
    if (typeof how === "string") {
      const local = await this.#localState(parked.conflict);
      const chosen = await resolverFor(how)({ conflict: parked.conflict, local });
      resolution = chosen ?? { resolution: ResolutionKind.ServerWins };
    } else {
      resolution = how;
    }
    await this.#writeParked((list) => list.map((entry) => (entry.change_id === parked.change_id ? { ...entry, resolution } : entry)));
    try {
      await this.#applyResolution(parked.change_id, parked.conflict, resolution, new Set());
      return { resolution, sent: true };
    } catch (error) {
      if (isApiError(error) && error.retryable) return { resolution, sent: false };
      throw error;
    }
  }

  async #run(): Promise<SyncSummary> {
    this.#events.emit("start", { at: new Date(this.#now()).toISOString() });
    const counts: Counts = { pulled: 0, pushed: 0, conflicts: 0, failed: 0, pages: 0 };
    try {
      await this.#ensureRegistered(counts);
      await this.#settleDecidedConflicts();
      await this.#pullAll(counts);
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const nextRound = new Set<string>();
        const sent = await this.#pushAll(counts, nextRound);
        if (sent === 0) break;
        await this.#pullAll(counts);
        if (nextRound.size === 0) break;
      }
      await this.#store.setMeta(META_LAST_SYNC, new Date(this.#now()).toISOString());
      const summary = summaryOf(counts);
      this.#events.emit("done", summary);
      return summary;
    } catch (error) {
      if (error instanceof ApiError && error.revoked) {
        await this.#store.setMeta(META_DEVICE, null);
        this.#events.emit("revoked", { reason: error.code === "DEVICE_INACTIVE" ? "device_inactive" : "session_ended" });
      }
      this.#events.emit("error", { error });
      throw error;
    }
  }

  async #ensureRegistered(counts: Counts): Promise<void> {
    if ((await this.#store.getMeta(META_DEVICE)) === this.#device.device_id) return;
    this.#progress("register", counts);
    await this.#withRetry(() => this.#api.registerDevice(this.#device));
    await this.#store.setMeta(META_DEVICE, this.#device.device_id);
  }

  async #pullAll(counts: Counts): Promise<void> {
    // A full resync (after 410) tells which rows the server no longer has only once it has run
    // through from `since = null` in one go; the stored flag makes an interrupted one start over.
    const resyncing = (await this.#store.getMeta(META_FULL_RESYNC)) !== null;
    let cursor = resyncing ? null : await this.#store.getCursor();
    const fromScratch = cursor === null;
    let seen: Map<EntityType, Set<string>> | null = resyncing ? new Map() : null;
    const serverFingerprints: Record<string, string> = {};
    const fetchPage = (since: string | null) =>
      this.#withRetry(() =>
        this.#api.pull({ device_id: this.#device.device_id, entity_types: [...this.#entityTypes], since, limit: this.#pullLimit }),
      );
    // The next page is asked for as soon as this one arrives, so the server reads it while the
    // device writes this one. Its cursor is still stored only with the page it belongs to.
    let prefetched: ReturnType<typeof fetchPage> | null = null;
    for (;;) {
      let page;
      try {
        page = await (prefetched ?? fetchPage(cursor));
      } catch (error) {
        prefetched = null;
        // An unreadable token (signed by another server, or for another account) cannot be paged on either.
        if (seen === null && cursor !== null && (isApiError(error, "SYNC_RESET_REQUIRED") || isApiError(error, "INVALID_SYNC_TOKEN"))) {
          // The flag first: if the app stops before the cursor is cleared, the next sync still starts over.
          await this.#store.setMeta(META_FULL_RESYNC, "1");
          await this.#store.setCursor(null);
          cursor = null;
          seen = new Map();
          this.#events.emit("reset", {});
          continue;
        }
        throw error;
      }
      prefetched = null;
      Object.assign(serverFingerprints, page.schema_fingerprints ?? {});
      if (page.has_more) {
        prefetched = fetchPage(page.sync_token);
        // Awaited on the next turn; if applying this page fails first, its failure is not the one to report.
        prefetched.catch(() => {});
      }
      const changes = page.changes.filter((change) => this.#wanted(change.entity_type));
      const result = await this.#store.applyServerChanges(changes, page.sync_token);
      if (seen) {
        for (const change of changes) {
          if (!isEntityType(change.entity_type)) continue;
          let ids = seen.get(change.entity_type);
          if (!ids) seen.set(change.entity_type, (ids = new Set()));
          ids.add(change.entity_id);
        }
      }
      counts.pulled += result.applied + result.rebased;
      counts.pages += 1;
      this.#progress("pull", counts);
      cursor = page.sync_token;
      if (!page.has_more) break;
    }
    if (seen) {
      await this.#dropRowsGoneFromServer(seen);
      await this.#store.setMeta(META_FULL_RESYNC, null);
    }
    await this.#repullChangedTypes(counts, fromScratch || seen !== null, serverFingerprints);
  }

  /**
   * An old client drops the fields it does not know and its cursor moves past those rows; upgraded,
   * it would keep them without those values forever. So each type's rows are tied to the pair of
   * fingerprints (this client's definition, the server's) they were pulled under, and a type whose
   * pair changed is pulled again in full, on its own: one extra full pass of that type, once. The
   * cursor of the main pull is left as it is (it goes on bringing every type's later changes and
   * deletes); the extra pass only reconciles rows, at the versions already held, with pending local
   * changes kept on top. A type new to this client needs no extra pass: the server starts a type
   * its token does not name from the beginning. Interrupted, the pass runs again on the next sync.
   */
  async #repullChangedTypes(counts: Counts, pulledInFull: boolean, server: Readonly<Record<string, string>>): Promise<void> {
    const text = await this.#store.getMeta(META_SCHEMA);
    const recorded = parseRecordedFingerprints(text);
    const mine = schemaFingerprints();
    const next: RecordedFingerprints = { ...recorded };
    const again: EntityType[] = [];
    for (const type of this.#entityTypes) {
      const now = { client: mine[type], server: server[type] ?? null };
      const before = recorded?.[type];
      // Without any record, the rows were pulled by a client that kept no fingerprints: trust none.
      const stale = !pulledInFull && (recorded === null || (before !== undefined && (before.client !== now.client || before.server !== now.server)));
      if (stale) again.push(type);
      else next[type] = now;
    }
    // Written only when it changed: an empty poll costs no write.
    if (JSON.stringify(next) !== text) await this.#store.setMeta(META_SCHEMA, JSON.stringify(next));
    for (const type of again) {
      this.#events.emit("repull", { entity_type: type });
      let since: string | null = null;
      let fingerprint: string | null = server[type] ?? null;
      for (;;) {
        const page = await this.#withRetry(() =>
          this.#api.pull({ device_id: this.#device.device_id, entity_types: [type], since, limit: this.#pullLimit }),
        );
        fingerprint = page.schema_fingerprints?.[type] ?? fingerprint;
        const result = await this.#store.reconcileServerChanges(page.changes.filter((change) => change.entity_type === type));
        counts.pulled += result.applied + result.rebased;
        counts.pages += 1;
        this.#progress("pull", counts);
        if (!page.has_more) break;
        since = page.sync_token;
      }
      next[type] = { client: mine[type], server: fingerprint };
      await this.#store.setMeta(META_SCHEMA, JSON.stringify(next));
    }
  }

  #wanted(type: string): type is EntityType {
    return isEntityType(type) && this.#entityTypes.includes(type);
  }

  /** After a full resync (live rows only), synced rows the server did not send were deleted there. */
  async #dropRowsGoneFromServer(seen: ReadonlyMap<EntityType, ReadonlySet<string>>): Promise<void> {
    for (const type of this.#entityTypes) {
      const ids = seen.get(type);
      for (const row of await this.#store.list(type, { includeDeleted: true })) {
        if (row.pending || row.version === 0 || ids?.has(row.id) === true) continue;
        await this.#store.acceptServerState(type, row.id, null);
      }
    }
  }

  /** Pushes every pending change not parked; returns how many were sent. */
  async #pushAll(counts: Counts, nextRound: Set<string>): Promise<number> {
    let sent = 0;
    // Changes of this round still in the outbox after their batch (parked, or anything a conflict
    // left behind): skipped, so no change is sent twice in one round. Applied and refused changes
    // leave the outbox, so this stays as small as the conflicts are few, and each batch reads only
    // a batch's worth of entries plus these.
    const skipped = new Set((await this.#parkedConflictsOrEmpty()).map((entry) => entry.change_id));
    for (;;) {
      const limit = this.#pushBatchSize + skipped.size + nextRound.size;
      const batch = (await this.#store.pendingChanges(limit))
        .filter((change) => !skipped.has(change.change_id) && !nextRound.has(change.change_id))
        .slice(0, this.#pushBatchSize);
      if (batch.length === 0) return sent;
      const left = await this.#pushBatch(batch, counts, nextRound);
      for (const changeId of left) skipped.add(changeId);
      sent += batch.length;
      this.#progress("push", counts);
    }
  }

  /** Pushes one batch and settles what the server answered; returns the change ids that may still be in the outbox. */
  async #pushBatch(batch: readonly PendingChange[], counts: Counts, nextRound: Set<string>): Promise<string[]> {
    // Frozen from here on: a retry, now or in a later sync, sends exactly these changes under these ids.
    await this.#store.markSent(batch.map((change) => change.change_id));
    let response;
    try {
      response = await this.#withRetry(() =>
        this.#api.push({
          device_id: this.#device.device_id,
          changes: batch.map((change) => ({
            change_id: change.change_id,
            entity_type: change.entity_type,
            entity_id: change.entity_id,
            operation: change.operation,
            data: { ...change.data },
            version: change.version,
            modified_at: change.modified_at,
            modified_by_device_id: this.#device.device_id,
          })),
        }),
      );
    } catch (error) {
      if (error instanceof ApiError) {
        await this.#store.recordFailures(
          batch.map((change) => change.change_id),
          { code: error.code, detail: error.message },
        );
      }
      throw error;
    }
    const results = response.results;
    if (!results || results.length !== batch.length) throw invalidResponse("The server's push answer does not say what became of each change");

    // Results come in request order (DESIGN §3). Everything is checked before anything is settled,
    // so an answer the client cannot read leaves the whole batch to be resent under the same ids.
    const applied: AppliedChange[] = [];
    const conflicts = new Map(response.conflicts.map((conflict) => [conflict.conflict_id, conflict]));
    const unsettled: ({ change: PendingChange; conflict: ConflictData } | { change: PendingChange; refusal: PushResult })[] = [];
    for (const [index, change] of batch.entries()) {
      const result = results[index];
      if (!result) throw invalidResponse("The server's push answer does not say what became of each change");
      if (result.change_id !== undefined && result.change_id !== change.change_id) {
        throw invalidResponse(`The server's push answer is out of order: change ${index} is ${change.change_id}, not ${result.change_id}`);
      }
      if (result.status === "applied") {
        if (result.version === undefined) throw invalidResponse("The server applied a change without saying its version");
        if (result.merged === true) {
          // The server merged the change with edits made since its base: the row is the answer's, as a
          // pull could not bring it (the row is already at this version here once the version is taken).
          if (!result.data) throw invalidResponse("The server merged a change without saying what the row became");
          const updatedAt = result.data["updated_at"];
          const server: ServerState = { version: result.version, data: result.data, deleted_at: null, updated_at: typeof updatedAt === "string" ? updatedAt : null };
          applied.push({ change_id: change.change_id, version: result.version, server });
        } else {
          applied.push({ change_id: change.change_id, version: result.version });
        }
      } else if (result.status === "conflict") {
        const conflict = result.conflict_id === undefined ? undefined : conflicts.get(result.conflict_id);
        if (!conflict) throw invalidResponse("The server reported a conflict without describing it");
        unsettled.push({ change, conflict });
      } else {
        unsettled.push({ change, refusal: result });
      }
    }
    // A batch holds at most one change per row, so settling every applied one first cannot
    // change what a conflict or a refusal of another row sees.
    await this.#store.completeChanges(applied);
    counts.pushed += applied.length;

    // Conflicts and refusals one by one, in request order.
    const left: string[] = [];
    for (const entry of unsettled) {
      const change = entry.change;
      if ("conflict" in entry) {
        counts.conflicts += 1;
        await this.#handleConflict(change, entry.conflict, nextRound);
        left.push(change.change_id);
        continue;
      }
      const detail = entry.refusal.error?.detail;
      const error: ChangeError = {
        code: entry.refusal.error?.code ?? "FAILED",
        detail: typeof detail === "string" ? detail : (detail ?? []).map((i) => `${i.loc.join(".")}: ${i.msg}`).join("; "),
      };
      // Kept on the device, held with the server's reason, until the user edits, re-sends or discards it.
      const held = await this.#store.refuseChange(change.change_id, error);
      counts.failed += 1;
      this.#events.emit("rejected", { change: held ?? change, error });
    }
    return left;
  }

  async #handleConflict(change: PendingChange, conflict: ConflictData, nextRound: Set<string>): Promise<void> {
    const local = await this.#localState(conflict);
    const resolution = await this.#resolver({ conflict, local });
    this.#events.emit("conflict", { conflict, resolution });
    if (resolution === null) {
      await this.#writeParked((list) => [...list.filter((e) => e.change_id !== change.change_id), { change_id: change.change_id, conflict, resolution: null }]);
      return;
    }
    await this.#applyResolution(change.change_id, conflict, resolution, nextRound);
  }

  /**
   * Sends the resolution, then settles the conflicting change alone: the row's base becomes the
   * server's row as the resolution left it, and edits queued behind the change move onto that
   * version (they are pushed next). If the row moved on since the conflict, the decision is redone
   * on the newest state as a new change.
   */
  async #applyResolution(changeId: string, conflict: ConflictData, resolution: Resolution, nextRound: Set<string>): Promise<void> {
    const type = conflict.entity_type;
    if (!isEntityType(type)) throw new LocalStoreError(LocalStoreErrorCode.UnknownEntityType, `Unknown entity type '${type}'`);
    const id = conflict.entity_id;
    const before = await this.#store.syncState(type, id);
    const change = before?.pending.find((entry) => entry.change_id === changeId);
    if (!change) {
      // Settled locally already (the app stopped before it could unpark): the server has it too.
      await this.#unpark(changeId);
      return;
    }
    let version: number | null = null;
    try {
      version = (await this.#withRetry(() => this.#api.resolveConflict(conflict.conflict_id, wireResolution(conflict, resolution)))).version ?? null;
    } catch (error) {
      if (isApiError(error, "CONFLICT_STALE") && resolution.resolution !== ResolutionKind.ServerWins) {
        const local = await this.#store.syncState(type, id);
        const server = newestServerState(conflict, local, this.#now());
        const resolved =
          resolution.resolution === ResolutionKind.Manual ? mergedOnNewest(conflict, resolution.merged_data, server, local, changeId) : undefined;
        const rebased = await this.#store.rebaseOnServer(type, id, server, resolved);
        if (rebased) nextRound.add(rebased.change_id);
        await this.#unpark(changeId);
        return;
      }
      // Already resolved (by an admin, another try) or stale for server_wins: the server's row stands.
      if (!isApiError(error, "CONFLICT_STALE") && !isApiError(error, "CONFLICT_ALREADY_RESOLVED")) throw error;
    }
    const local = await this.#store.syncState(type, id);
    await this.#store.settleChange(changeId, resolvedServerState(conflict, local, change, resolution, version, this.#now()));
    await this.#unpark(changeId);
  }

  async #settleDecidedConflicts(): Promise<void> {
    for (const entry of await this.#parkedConflictsOrEmpty()) {
      if (entry.resolution) await this.#applyResolution(entry.change_id, entry.conflict, entry.resolution, new Set());
    }
  }

  async #localState(conflict: ConflictData): Promise<RowSyncState | null> {
    return isEntityType(conflict.entity_type) ? this.#store.syncState(conflict.entity_type, conflict.entity_id) : null;
  }

  async #parkedConflictsOrEmpty(): Promise<ParkedConflict[]> {
    return this.parkedConflicts();
  }

  async #writeParked(update: (list: ParkedConflict[]) => ParkedConflict[]): Promise<void> {
    const next = update(await this.parkedConflicts());
    await this.#store.setMeta(META_PARKED, next.length === 0 ? null : JSON.stringify(next));
  }

  async #unpark(changeId: string): Promise<void> {
    await this.#writeParked((list) => list.filter((entry) => entry.change_id !== changeId));
  }

  /** Exponential backoff with full jitter, never sooner than the server's `Retry-After`. */
  async #withRetry<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof ApiError) || !error.retryable || attempt >= this.#maxAttempts) throw error;
        const cap = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
        const delayMs = Math.max(error.retryAfterMs ?? 0, Math.floor(this.#random() * cap));
        this.#events.emit("retry", { attempt, delayMs, error });
        await this.#sleep(delayMs);
      }
    }
  }

  #progress(phase: SyncPhase, counts: Counts): void {
    this.#events.emit("progress", { phase, pages: counts.pages, ...summaryOf(counts) });
  }
}

/**
 * A resolution as it is sent: a merge carries only the fields whose merged value differs from the
 * server's row it was decided against (`merged_fields`), so a value it leaves alone is not judged
 * again; an old server value that breaks a rule tightened since does not make the merge fail.
 */
function wireResolution(conflict: ConflictData, resolution: Resolution): z.input<typeof ResolveConflictRequest> {
  if (resolution.resolution !== ResolutionKind.Manual) return { resolution: resolution.resolution };
  const changed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(resolution.merged_data)) {
    if (!sameValue(value, conflict.server_data[name] ?? null)) changed[name] = value;
  }
  return { resolution: ResolutionKind.Manual, merged_fields: changed };
}

/** The recorded fingerprints; unreadable counts as none, which costs one extra pass per type, never a value. */
function parseRecordedFingerprints(text: string | null): RecordedFingerprints | null {
  if (text === null) return null;
  try {
    const parsed = RecordedFingerprints.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function invalidResponse(message: string): ApiError {
  return new ApiError(message, { code: "INVALID_RESPONSE", status: 200, retryable: false });
}

/** Conflicts a resolver left for later in this store; readable with no server (and no SyncManager). */
export async function readParkedConflicts(store: Pick<LocalStore, "getMeta">): Promise<ParkedConflict[]> {
  const text = await store.getMeta(META_PARKED);
  if (text === null) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LocalStoreError(LocalStoreErrorCode.CorruptData, "The parked conflicts are not readable", { cause: error });
  }
  const parsed = ParkedList.safeParse(value);
  if (!parsed.success) throw new LocalStoreError(LocalStoreErrorCode.CorruptData, "The parked conflicts are not readable", { cause: parsed.error });
  return parsed.data;
}

/** When this store last finished a sync, ISO-8601; null if never. */
export function readLastSyncedAt(store: Pick<LocalStore, "getMeta">): Promise<string | null> {
  return store.getMeta(META_LAST_SYNC);
}

function summaryOf(counts: Counts): SyncSummary {
  return { pulled: counts.pulled, pushed: counts.pushed, conflicts: counts.conflicts, failed: counts.failed };
}

/**
 * A merged row decided against the conflict's server state, redone on a newer one: only the fields
 * where the decision differs from the state it was made against are taken from it, so edits the
 * server gained since stand; the device's edits queued behind the change go on top.
 */
function mergedOnNewest(
  conflict: ConflictData,
  merged: Readonly<Record<string, unknown>>,
  newest: ServerState,
  local: RowSyncState | null,
  changeId: string,
): { data: EntityData; deleted: boolean } {
  const decided: EntityData = {};
  for (const [name, value] of Object.entries(merged)) {
    if (!sameValue(value, conflict.server_data[name])) decided[name] = value;
  }
  const pending = local?.pending ?? [];
  const queued = pending.slice(pending.findIndex((entry) => entry.change_id === changeId) + 1);
  const visible = materialize({ ...newest, data: { ...newest.data, ...decided }, deleted_at: null }, queued);
  return { data: visible.data, deleted: visible.deleted_at !== null };
}

/**
 * The server's row once `resolution` was accepted at `version`: `client_wins` is the conflicting
 * change applied over the server's row, `manual` the merged row. Without a version (server_wins,
 * or a conflict someone else settled), the newest server state this device knows.
 */
function resolvedServerState(
  conflict: ConflictData,
  local: RowSyncState | null,
  change: PendingChange,
  resolution: Resolution,
  version: number | null,
  now: number,
): ServerState {
  const newest = newestServerState(conflict, local, now);
  if (version === null || version <= newest.version) return newest;
  if (resolution.resolution === ResolutionKind.Manual) {
    return { version, data: resolution.merged_data, deleted_at: null, updated_at: new Date(now).toISOString() };
  }
  if (resolution.resolution === ResolutionKind.ClientWins) return serverStateAfter(newest, change, version);
  return newest;
}

/** The server's row as the conflict describes it, unless a pull has since shown a newer one. */
function newestServerState(conflict: ConflictData, local: RowSyncState | null, now: number): ServerState {
  const deleted = conflict.conflict_type === ConflictType.UpdateOnDeleted;
  const at = conflict.server_modified_at;
  const fromConflict: ServerState = {
    version: conflict.server_version,
    data: conflict.server_data,
    deleted_at: deleted ? (at ?? new Date(now).toISOString()) : null,
    updated_at: at,
  };
  const candidates = [fromConflict, local?.server, local?.base].filter((s): s is ServerState => s != null);
  return candidates.reduce((best, s) => (s.version > best.version ? s : best), fromConflict);
}
