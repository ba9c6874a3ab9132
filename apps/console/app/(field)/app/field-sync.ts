import { ConflictResolution, entityTypes, type EntityType } from "@repensar/contracts";
import {
  createApiClient,
  deferred,
  isApiError,
  readLastSyncedAt,
  readParkedConflicts,
  SyncManager,
  uuidv7,
  type ApiClient,
  type LocalRow,
  type ParkedConflict,
  type PendingChange,
  type Resolution,
  type SyncProgress,
  type Tokens,
  type TokenStore,
} from "@repensar/sync-client";
import { connectBrowserStore, type BrowserStore } from "@repensar/sync-client/browser";

/**
 * The field app's sync loop, one per tab.
 *
 *   every tab: store worker (one of them owns the OPFS database), UI from store.watch
 *   the tab holding the "repensar-sync" Web Lock (the leader): SyncManager, the SSE stream, retries
 *   other tabs: ask the leader to sync over a BroadcastChannel; show the leader's status
 *
 *   offline ──online event──> sync ──network error──> wait 1 s, 2 s, 4 s … 60 s (jittered) ──> sync
 *   SSE ready or poke / local write / "sync now" ──> sync; asked for while one runs, it runs once more
 *   after it (that one may already be past the push or the pull the new change needs)
 *
 * The refresh token never reaches page scripts: sign-in asks for it as an HttpOnly, SameSite=Strict
 * cookie scoped to /auth, which the browser sends on refresh and logout by itself. The access token
 * (30 minutes) is kept in the local database (`meta`), shared by the tabs and there after a reload
 * with no network, so the app opens signed in offline until its `exp`.
 */
export interface FieldStatus {
  /** False until the local database has been read once. */
  readonly loaded: boolean;
  readonly online: boolean;
  readonly signedIn: boolean;
  readonly email: string | null;
  readonly leader: boolean;
  readonly syncing: boolean;
  readonly progress: SyncProgress | null;
  readonly lastSyncedAt: string | null;
  readonly lastError: string | null;
  /** Changes waiting to be sent (refused ones are not: they wait for the user). */
  readonly pending: number;
  /** Changes the server refused for good, kept on this device, oldest first. */
  readonly refused: readonly RefusedChange[];
  readonly conflicts: readonly ParkedConflict[];
  /**
   * The rows of every type, read by the same query as the counts above: what the tables show and
   * what the header says always come from one moment, so "0 pending" never sits next to a row that
   * is still waiting to be sent.
   */
  readonly rows: Readonly<Record<EntityType, readonly LocalRow[]>>;
}

/** A refused change and the row it belongs to (`null` if the device no longer has it). */
export interface RefusedChange {
  readonly change: PendingChange;
  readonly row: LocalRow | null;
}

type LeaderMessage =
  | { readonly type: "sync" }
  | { readonly type: "resolve"; readonly conflictId: string; readonly resolution: Resolution }
  | { readonly type: "status"; readonly syncing: boolean; readonly progress: SyncProgress | null; readonly lastError: string | null };

const META_TOKENS = "web.tokens";
const META_EMAIL = "web.email";
const META_DEVICE = "web.device_id";
const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

function metaTokenStore(store: BrowserStore): TokenStore {
  return {
    async load() {
      const raw = await store.getMeta(META_TOKENS);
      if (raw === null) return null;
      try {
        const parsed: unknown = JSON.parse(raw);
        if (typeof parsed === "object" && parsed !== null && "access_token" in parsed && "refresh_token" in parsed) {
          const { access_token, refresh_token } = parsed;
          const expires_at = "expires_at" in parsed && typeof parsed.expires_at === "string" ? parsed.expires_at : null;
          if (typeof access_token === "string" && typeof refresh_token === "string") return { access_token, refresh_token, expires_at };
        }
      } catch {
        // An unreadable entry is no session.
      }
      return null;
    },
    save: (tokens: Tokens) => store.setMeta(META_TOKENS, JSON.stringify(tokens)),
    clear: () => store.setMeta(META_TOKENS, null),
  };
}

export class FieldSync {
  readonly store: BrowserStore;
  readonly #tokens: TokenStore;
  readonly #api: ApiClient;
  readonly #channel = new BroadcastChannel("repensar-field");
  readonly #listeners = new Set<(status: FieldStatus) => void>();
  #status: FieldStatus = {
    loaded: false,
    online: navigator.onLine,
    signedIn: false,
    email: null,
    leader: false,
    syncing: false,
    progress: null,
    lastSyncedAt: null,
    lastError: null,
    pending: 0,
    refused: [],
    conflicts: [],
    rows: emptyRows(),
  };
  #manager: SyncManager | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #failures = 0;
  #syncing: Promise<void> | null = null;
  #syncAgain = false;
  #events: AbortController | null = null;
  #started = false;
  #stopped = false;
  readonly #stops: (() => void)[] = [];

  constructor(worker: Worker) {
    this.store = connectBrowserStore(worker, "repensar-field");
    this.#tokens = metaTokenStore(this.store);
    this.#api = createApiClient({
      baseUrl: location.origin,
      tokens: this.#tokens,
      onRevoked: () => this.#update({ signedIn: false, lastError: "Signed out: the session ended or this device was revoked." }),
    });
  }

  get status(): FieldStatus {
    return this.#status;
  }

  subscribe(listener: (status: FieldStatus) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#status);
    return () => this.#listeners.delete(listener);
  }

  /** Starts listening, watching and competing for the sync lock; a second call does nothing. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const online = () => {
      this.#update({ online: true });
      this.#failures = 0;
      this.requestSync();
      this.#openEvents();
    };
    const offline = () => {
      this.#update({ online: false });
      this.#events?.abort();
      this.#clearRetry();
    };
    addEventListener("online", online);
    addEventListener("offline", offline);
    this.#stops.push(() => removeEventListener("online", online), () => removeEventListener("offline", offline));

    this.#stops.push(
      this.store.watch(
        async (store) => {
          const [outbox, held, conflicts, lastSyncedAt, tokens, email, lists] = await Promise.all([
            store.pendingCount(),
            store.refusedChanges(),
            readParkedConflicts(store),
            readLastSyncedAt(store),
            this.#tokens.load(),
            store.getMeta(META_EMAIL),
            Promise.all(entityTypes.map(async (type) => [type, await store.list(type)] as const)),
          ]);
          const refused = await Promise.all(
            held.map(async (change) => ({ change, row: await store.get(change.entity_type, change.entity_id, { includeDeleted: true }) })),
          );
          return {
            // The outbox count includes the held entries: they are not waiting to be sent.
            pending: Math.max(0, outbox - held.length),
            refused,
            conflicts,
            lastSyncedAt,
            signedIn: tokens !== null,
            email,
            rows: Object.fromEntries(lists) as Record<EntityType, LocalRow[]>,
          };
        },
        (values) => {
          const signedInNow = values.signedIn && !this.#status.signedIn;
          this.#update({ ...values, loaded: true });
          if (signedInNow) {
            this.requestSync();
            this.#openEvents();
          }
        },
      ),
    );

    this.#channel.onmessage = (event: MessageEvent<LeaderMessage>) => {
      const message = event.data;
      if (message.type === "status" && !this.#status.leader) {
        this.#update({ syncing: message.syncing, progress: message.progress, lastError: message.lastError });
      } else if (message.type === "sync" && this.#manager) {
        void this.#sync();
      } else if (message.type === "resolve" && this.#manager) {
        void this.#resolveHere(message.conflictId, message.resolution);
      }
    };

    void navigator.locks.request("repensar-sync", async () => {
      if (this.#stopped) return;
      this.#manager = await this.#createManager();
      this.#update({ leader: true });
      this.requestSync();
      this.#openEvents();
      // Held until the tab goes: then the next tab in line becomes the leader.
      await new Promise<void>((resolve) => this.#stops.push(resolve));
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#events?.abort();
    this.#clearRetry();
    for (const stop of this.#stops.splice(0)) stop();
    this.#channel.close();
    void this.store.close();
  }

  async signIn(email: string, password: string): Promise<void> {
    // The refresh token stays in an HttpOnly cookie on /auth: no script of this page can read it.
    await this.#api.login({ email, password, refresh_token_cookie: true });
    await this.store.setMeta(META_EMAIL, email);
  }

  async signOut(): Promise<void> {
    try {
      await this.#api.logout();
    } catch {
      // Offline or already ended: forgetting the tokens here is what signing out means on this device.
      await this.#tokens.clear();
    }
  }

  /** Syncs now if this tab leads, else asks the leader to. */
  requestSync(): void {
    if (this.#manager) void this.#sync();
    else this.#channel.postMessage({ type: "sync" } satisfies LeaderMessage);
  }

  /** Settles a parked conflict: mine (`client_wins`), theirs (`server_wins`), or a field-by-field merge (`manual`). */
  async resolve(conflictId: string, resolution: Resolution): Promise<void> {
    if (this.#manager) await this.#resolveHere(conflictId, resolution);
    else this.#channel.postMessage({ type: "resolve", conflictId, resolution } satisfies LeaderMessage);
  }

  /** Queues a refused change again as it is (e.g. once the server's rules allow it). */
  async resend(changeId: string): Promise<void> {
    await this.write((store) => store.resendChange(changeId));
  }

  /** Drops a refused change from this device for good: the row goes back to what the server has. */
  async discard(changeId: string): Promise<void> {
    await this.write((store) => store.discardChange(changeId));
  }

  async write(action: (store: BrowserStore) => Promise<unknown>): Promise<void> {
    await action(this.store);
    this.requestSync();
  }

  async #deviceId(): Promise<string> {
    const known = await this.store.getMeta(META_DEVICE);
    if (known) return known;
    const id = `web-${uuidv7()}`;
    await this.store.setMeta(META_DEVICE, id);
    return id;
  }

  async #createManager(): Promise<SyncManager> {
    const manager = new SyncManager({
      api: this.#api,
      store: this.store,
      tokens: this.#tokens,
      device: { device_id: await this.#deviceId(), device_name: "Browser", device_type: "web", platform: "web", app_version: "field-app" },
      // Every conflict goes to the app's dialog.
      resolver: deferred,
      maxAttempts: 2,
    });
    manager.on("start", () => this.#leaderStatus({ syncing: true, progress: null }));
    manager.on("progress", (progress) => this.#leaderStatus({ progress }));
    manager.on("done", () => this.#leaderStatus({ syncing: false, lastError: null }));
    manager.on("error", ({ error }) => this.#leaderStatus({ syncing: false, lastError: error instanceof Error ? error.message : String(error) }));
    return manager;
  }

  async #resolveHere(conflictId: string, resolution: Resolution): Promise<void> {
    const manager = this.#manager;
    if (!manager) return;
    await manager.resolveParked(conflictId, resolution);
    this.requestSync();
  }

  /**
   * Syncs. Asked for while a sync runs, it runs once more when that one ends: the running one may
   * already have pushed, or pulled, before the write or the poke that asked, and the SyncManager's
   * own sharing of concurrent calls would answer with that older run.
   */
  #sync(): Promise<void> {
    if (this.#syncing) {
      this.#syncAgain = true;
      return this.#syncing;
    }
    this.#syncing = this.#syncWhileAsked().finally(() => {
      this.#syncing = null;
      // Asked for after the last run's check, before this: not lost either.
      if (this.#syncAgain) void this.#sync();
    });
    return this.#syncing;
  }

  async #syncWhileAsked(): Promise<void> {
    do {
      this.#syncAgain = false;
      const manager = this.#manager;
      if (!manager || this.#stopped || !this.#status.signedIn || !navigator.onLine) return;
      this.#clearRetry();
      try {
        await manager.sync();
        this.#failures = 0;
      } catch (error) {
        // The retry (or the online event) syncs again, whatever was asked for meanwhile.
        this.#syncAgain = false;
        if (isApiError(error) && error.retryable) this.#scheduleRetry();
        return;
      }
    } while (this.#syncAgain);
  }

  #scheduleRetry(): void {
    this.#clearRetry();
    if (!navigator.onLine || this.#stopped) return; // the online event retries
    this.#failures += 1;
    const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (this.#failures - 1));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.#retryTimer = setTimeout(() => void this.#sync(), delay);
  }

  #clearRetry(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  /**
   * The poke stream, read with fetch: EventSource cannot send the Authorization header. A poke
   * means another device changed something: pull. The stream opens with `ready`, from when on every
   * poke is heard: a sync then catches up with what changed while no stream was listening (before
   * the first one opened, or between two). The stream is reopened after it ends, with a fresh access
   * token (the server closes it when the token expires).
   */
  #openEvents(): void {
    if (!this.#manager || this.#events || !navigator.onLine || !this.#status.signedIn || this.#stopped) return;
    const controller = new AbortController();
    this.#events = controller;
    void this.#readEvents(controller.signal).finally(() => {
      if (this.#events === controller) this.#events = null;
      if (!controller.signal.aborted && !this.#stopped) setTimeout(() => this.#openEvents(), 3_000);
    });
  }

  async #readEvents(signal: AbortSignal): Promise<void> {
    let tokens = await this.#tokens.load();
    if (!tokens) return;
    let response = await fetch("/sync/events", { headers: { authorization: `Bearer ${tokens.access_token}` }, signal }).catch(() => null);
    if (response?.status === 401) {
      tokens = await this.#api.refresh().catch(() => null);
      if (!tokens) return;
      response = await fetch("/sync/events", { headers: { authorization: `Bearer ${tokens.access_token}` }, signal }).catch(() => null);
    }
    if (!response?.ok || !response.body) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (/^event: (?:ready|poke)$/m.test(event)) void this.#sync();
        }
      }
    } catch {
      // Aborted (offline, stopped) or the connection broke: the caller reopens it.
    }
  }

  #leaderStatus(change: Partial<Pick<FieldStatus, "syncing" | "progress" | "lastError">>): void {
    this.#update(change);
    const { syncing, progress, lastError } = this.#status;
    this.#channel.postMessage({ type: "status", syncing, progress, lastError } satisfies LeaderMessage);
  }

  #update(change: Partial<FieldStatus>): void {
    this.#status = { ...this.#status, ...change };
    for (const listener of [...this.#listeners]) listener(this.#status);
  }
}

function emptyRows(): Record<EntityType, LocalRow[]> {
  return Object.fromEntries(entityTypes.map((type) => [type, []])) as unknown as Record<EntityType, LocalRow[]>;
}

/** The merged row of a field-by-field choice: each field from the side picked for it. */
export function mergedResolution(
  conflict: ParkedConflict["conflict"],
  fields: readonly string[],
  picks: Readonly<Record<string, "mine" | "theirs">>,
): Resolution {
  const merged: Record<string, unknown> = {};
  for (const name of fields) {
    const side = picks[name] === "mine" ? conflict.client_data : conflict.server_data;
    const other = picks[name] === "mine" ? conflict.server_data : conflict.client_data;
    merged[name] = Object.hasOwn(side, name) ? side[name] : (other[name] ?? null);
  }
  return { resolution: ConflictResolution.Manual, merged_data: merged };
}
