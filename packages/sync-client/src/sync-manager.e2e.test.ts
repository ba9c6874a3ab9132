import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { entityTypes, type EntityType } from "@repensar/contracts";
import { startTestServer, type TestServer } from "@repensar/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient, type ApiClient } from "./api/client";
import type { LocalStore } from "./local-store";
import { clientWins, callback, deferred, lastWriteWins, merge, serverWins, type Resolver } from "./resolvers";
import { createMemoryStore } from "./stores/memory";
import { createSqliteStore } from "./stores/sqlite";
import { SyncManager, type SyncEvents } from "./sync-manager";
import { createMemoryTokenStore, type TokenStore } from "./tokens/token-store";
import { uuidv7 } from "./id";

const PASSWORD = "correct horse battery";

let server: TestServer;
let dir: string;

beforeAll(async () => {
  // Every device signs in, and the tests sign in more often than the default allowance.
  server = await startTestServer({ loginMaxAttempts: 10_000 });
  dir = mkdtempSync(join(tmpdir(), "sync-e2e-"));
}, 60_000);

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Device {
  id: string;
  store: LocalStore;
  tokens: TokenStore;
  api: ApiClient;
  manager: SyncManager;
  events: { [K in keyof SyncEvents]?: SyncEvents[K][] };
}

interface DeviceOptions {
  resolver?: Resolver;
  fetch?: typeof fetch;
  sqlite?: boolean;
  pullLimit?: number;
  pushBatchSize?: number;
}

const deviceOf = (id: string) => ({ device_id: id, device_name: `device ${id.slice(0, 4)}`, device_type: "desktop" as const, platform: "linux" as const });

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new TypeError("expected a value");
  return value;
}

async function newUser(): Promise<string> {
  const email = `u-${randomUUID()}@example.org`;
  const api = createApiClient({ baseUrl: server.url, tokens: createMemoryTokenStore() });
  await api.register({ email, password: PASSWORD, name: "Tester" });
  return email;
}

/** A device signed in as `email` with its own store, bound to its own device id. */
async function newDevice(email: string, options: DeviceOptions = {}): Promise<Device> {
  const id = randomUUID();
  const tokens = createMemoryTokenStore();
  const api = createApiClient({ baseUrl: server.url, tokens, ...(options.fetch ? { fetch: options.fetch } : {}) });
  await api.login({ email, password: PASSWORD, device_id: id });
  const store = options.sqlite ? createSqliteStore(join(dir, `${id}.db`)) : createMemoryStore();
  const manager = new SyncManager({
    api,
    store,
    tokens,
    device: deviceOf(id),
    resolver: options.resolver ?? serverWins,
    sleep: async () => {},
    ...(options.pullLimit ? { pullLimit: options.pullLimit } : {}),
    ...(options.pushBatchSize ? { pushBatchSize: options.pushBatchSize } : {}),
  });
  const events: Device["events"] = {};
  for (const name of ["start", "progress", "conflict", "rejected", "retry", "reset", "repull", "revoked", "done", "error"] as const) {
    manager.on(name, (payload) => {
      (events[name] ??= [] as never[]).push(payload as never);
    });
  }
  return { id, store, tokens, api, manager, events };
}

type Snapshot = Record<string, { data: Record<string, unknown>; version: number; deleted: boolean }>;

async function snapshot(store: LocalStore, types: readonly EntityType[] = entityTypes): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const type of types) {
    for (const row of await store.list(type)) {
      expect(row.pending, `${type} ${row.id} still pending`).toBe(false);
      out[`${type}/${row.id}`] = { data: row.data, version: row.version, deleted: row.deleted_at !== null };
    }
  }
  return out;
}

/** What the server holds, as a device that has never synced sees it after a full sync. */
async function serverSnapshot(email: string): Promise<Snapshot> {
  const fresh = await newDevice(email);
  await fresh.manager.sync();
  return snapshot(fresh.store);
}

async function expectConverged(email: string, ...devices: Device[]): Promise<Snapshot> {
  const truth = await serverSnapshot(email);
  for (const device of devices) expect(await snapshot(device.store)).toEqual(truth);
  return truth;
}

/** A fetch whose push requests can be made to fail as if the network were down. */
function pushCanFail(): { down: { push: boolean }; fetch: typeof fetch } {
  const down = { push: false };
  return {
    down,
    fetch: async (input, init) => {
      if (down.push && String(input).includes("/sync/push")) throw new TypeError("fetch failed");
      return fetch(input, init);
    },
  };
}

describe("SyncManager against the real server", () => {
  it("two devices that edited offline converge, whichever syncs first", async () => {
    for (const order of ["a-first", "b-first"] as const) {
      const email = await newUser();
      const a = await newDevice(email, { sqlite: true });
      const b = await newDevice(email);
      const shared = await a.store.create("project", { name: "Shared" });
      await a.manager.sync();
      await b.manager.sync();

      // Offline on both: different rows, and different fields of the shared row.
      await a.store.create("volunteer", { name: "Ana" });
      await a.store.update("project", shared.id, { description: "from A" });
      await b.store.create("task", { title: "Paint", project_id: shared.id });
      await b.store.update("project", shared.id, { location: "Lisbon" });

      const [first, second] = order === "a-first" ? [a, b] : [b, a];
      await first.manager.sync();
      await second.manager.sync();
      await first.manager.sync();

      const truth = await expectConverged(email, a, b);
      expect(Object.keys(truth)).toHaveLength(3);
    }
  }, 60_000);

  it("an offline edit of fields nobody else changed is merged by the server: no conflict, and the row is the server's at once", async () => {
    const email = await newUser();
    const a = await newDevice(email);
    const b = await newDevice(email, { sqlite: true, resolver: deferred });
    const row = await a.store.create("volunteer", { name: "Original", notes: "n" });
    await a.manager.sync();
    await b.manager.sync();

    await a.store.update("volunteer", row.id, { name: "A" });
    await a.manager.sync();
    await b.store.update("volunteer", row.id, { phone: "555-0100" });
    // B's edit is based on version 1; the server merges it over A's as version 3. The pull after the
    // push brings nothing newer than the answer, so the answer alone must bring the row up to date.
    const summary = await b.manager.sync();
    expect(summary.conflicts).toBe(0);
    expect(b.events.conflict).toBeUndefined();
    const local = await b.store.get("volunteer", row.id);
    expect(local).toMatchObject({ version: 3, pending: false, data: { name: "A", phone: "555-0100", notes: "n" } });
    await a.manager.sync();
    await expectConverged(email, a, b);
  }, 60_000);

  describe("a concurrent edit surfaces a conflict, and each strategy leaves both devices and the server equal", () => {
    const cases: { name: string; resolver: Resolver; bEdit: Record<string, unknown>; expectName: string; expect?: Record<string, unknown> }[] = [
      { name: "server_wins", resolver: serverWins, bEdit: { name: "B" }, expectName: "A" },
      { name: "client_wins", resolver: clientWins, bEdit: { name: "B" }, expectName: "B" },
      { name: "last_write_wins", resolver: lastWriteWins, bEdit: { name: "B" }, expectName: "B" },
      // B also sets the email A set, to the same value: the server does not merge a field both changed, the resolver agrees.
      { name: "merge", resolver: merge, bEdit: { email: "a@example.org", phone: "555-0100" }, expectName: "A", expect: { email: "a@example.org", phone: "555-0100" } },
      {
        name: "an app callback",
        resolver: callback(({ conflict }) => ({ resolution: "manual", merged_data: { ...conflict.server_data, name: "A and B" } })),
        bEdit: { name: "B" },
        expectName: "A and B",
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const email = await newUser();
        const a = await newDevice(email);
        const b = await newDevice(email, { resolver: c.resolver });
        const row = await a.store.create("volunteer", { name: "Original" });
        await a.manager.sync();
        await b.manager.sync();

        await a.store.update("volunteer", row.id, { name: "A", email: "a@example.org" });
        await a.manager.sync();
        await b.store.update("volunteer", row.id, c.bEdit); // made after A's push: the later write
        const summary = await b.manager.sync();
        expect(summary.conflicts).toBe(1);
        expect(b.events.conflict?.[0]?.conflict.conflict_type).toBe("version_mismatch");
        await a.manager.sync();

        const truth = await expectConverged(email, a, b);
        const data = truth[`volunteer/${row.id}`]?.data;
        expect(data?.["name"]).toBe(c.expectName);
        if (c.expect) expect(data).toMatchObject(c.expect);
        expect(await b.manager.parkedConflicts()).toEqual([]);
      }, 60_000);
    }
  });

  it("delete against edit converges both ways", async () => {
    // One device deletes, the other edits; the editor's resolver decides.
    for (const [editorWins, resolver] of [
      [false, serverWins],
      [true, clientWins],
    ] as const) {
      const email = await newUser();
      const deleter = await newDevice(email);
      const editor = await newDevice(email, { resolver });
      const row = await deleter.store.create("project", { name: "Doomed" });
      await deleter.manager.sync();
      await editor.manager.sync();
      await deleter.store.delete("project", row.id);
      await editor.store.update("project", row.id, { name: "Saved?" });
      await deleter.manager.sync();
      expect((await editor.manager.sync()).conflicts).toBe(1);
      expect(editor.events.conflict?.[0]?.conflict.conflict_type).toBe("update_on_deleted");
      await deleter.manager.sync();
      const truth = await expectConverged(email, deleter, editor);
      expect(truth[`project/${row.id}`]?.data["name"]).toBe(editorWins ? "Saved?" : undefined);
    }

    // The other way round: the edit reaches the server first, then the delete.
    for (const [deleterWins, resolver] of [
      [false, serverWins],
      [true, clientWins],
    ] as const) {
      const email = await newUser();
      const editor = await newDevice(email);
      const deleter = await newDevice(email, { resolver });
      const row = await editor.store.create("project", { name: "Contested" });
      await editor.manager.sync();
      await deleter.manager.sync();
      await editor.store.update("project", row.id, { name: "Edited" });
      await deleter.store.delete("project", row.id);
      await editor.manager.sync();
      expect((await deleter.manager.sync()).conflicts).toBe(1);
      expect(deleter.events.conflict?.[0]?.conflict.conflict_type).toBe("delete_on_modified");
      await editor.manager.sync();
      const truth = await expectConverged(email, deleter, editor);
      expect(truth[`project/${row.id}`]?.data["name"]).toBe(deleterWins ? undefined : "Edited");
    }
  }, 90_000);

  describe("an edit queued behind a conflicting change survives the conflict's resolution", () => {
    for (const [name, resolver, kept] of [
      ["server_wins", serverWins, "A"],
      ["client_wins", clientWins, "B"],
    ] as const) {
      it(name, async () => {
        const email = await newUser();
        const a = await newDevice(email);
        const net = pushCanFail();
        const b = await newDevice(email, { resolver, fetch: net.fetch, sqlite: true });
        const v = await a.store.create("volunteer", { name: "V" });
        await a.manager.sync();
        await b.manager.sync();
        await a.store.update("volunteer", v.id, { name: "A" });
        await a.manager.sync();
        await b.store.update("volunteer", v.id, { name: "B" });
        net.down.push = true;
        await expect(b.manager.sync()).rejects.toThrow();
        net.down.push = false;
        // Offline, after the push went out unanswered: this edit queues behind the sent change.
        await b.store.update("volunteer", v.id, { notes: "keep me" });
        expect((await b.manager.sync()).conflicts).toBe(1);
        await a.manager.sync();
        const truth = await expectConverged(email, a, b);
        expect(truth[`volunteer/${v.id}`]?.data).toMatchObject({ name: kept, notes: "keep me" });
      }, 60_000);
    }

    it("parked, then resolved by the app", async () => {
      const email = await newUser();
      const a = await newDevice(email);
      const b = await newDevice(email, { resolver: deferred, sqlite: true });
      const v = await a.store.create("volunteer", { name: "V" });
      await a.manager.sync();
      await b.manager.sync();
      await a.store.update("volunteer", v.id, { name: "A" });
      await a.manager.sync();
      await b.store.update("volunteer", v.id, { name: "B" });
      await b.manager.sync();
      const [parked] = await b.manager.parkedConflicts();
      if (!parked) throw new Error("the conflict was not parked");
      await b.store.update("volunteer", v.id, { notes: "keep me" });
      const parkedList = await b.store.getMeta("sync.parked_conflicts");
      expect(await b.manager.resolveParked(parked.conflict.conflict_id, "server_wins")).toMatchObject({ sent: true });
      // The device shows the resolved row at once, with the queued edit on top.
      expect((await b.store.get("volunteer", v.id))?.data).toMatchObject({ name: "A", notes: "keep me" });
      // As if the app had stopped before the conflict was unparked: replaying it loses nothing.
      await b.store.setMeta("sync.parked_conflicts", parkedList);
      await b.manager.sync();
      await a.manager.sync();
      const truth = await expectConverged(email, a, b);
      expect(truth[`volunteer/${v.id}`]?.data).toMatchObject({ name: "A", notes: "keep me" });
    }, 60_000);
  });

  it("a change the server refuses stays on the device with the reason, held until edited, re-sent or discarded", async () => {
    const email = await newUser();
    const net = pushCanFail();
    const b = await newDevice(email, { fetch: net.fetch, sqlite: true });
    const v = await b.store.create("volunteer", { name: "V" });
    await b.manager.sync();
    // The device accepts text the server cannot store, and the push goes out unanswered ...
    await b.store.update("volunteer", v.id, { notes: "bad\u0000text" });
    const fresh = await b.store.create("volunteer", { name: "New", notes: "also\u0000bad" });
    net.down.push = true;
    await expect(b.manager.sync()).rejects.toThrow();
    net.down.push = false;
    // ... and the user goes on editing both rows offline.
    await b.store.update("volunteer", v.id, { phone: "555" });
    await b.store.update("volunteer", fresh.id, { phone: "777" });
    expect(await b.manager.sync()).toMatchObject({ failed: 2 });
    // Each refusal is reported once, with every edit of the row folded into the change kept.
    const rejected = (b.events.rejected ?? []).map((event) => [event.change.entity_id, event.change.operation, event.error.code, event.change.data]);
    expect(rejected).toEqual([
      [v.id, "UPDATE", "VALIDATION_ERROR", { notes: "bad\u0000text", phone: "555" }],
      [fresh.id, "CREATE", "VALIDATION_ERROR", expect.objectContaining({ name: "New", notes: "also\u0000bad", phone: "777" })],
    ]);
    const held = await b.store.refusedChanges();
    expect(held.map((c) => [c.entity_id, c.last_error?.code, c.refused_at !== null])).toEqual([
      [v.id, "VALIDATION_ERROR", true],
      [fresh.id, "VALIDATION_ERROR", true],
    ]);
    expect(held[0]?.last_error?.detail).toMatch(/notes/);
    expect(await b.store.get("volunteer", fresh.id)).toMatchObject({ pending: true, data: { name: "New", phone: "777" } });

    // Held: another sync sends nothing and refuses nothing again.
    expect(await b.manager.sync()).toMatchObject({ pushed: 0, failed: 0 });
    // An edit answers the refusal and queues the change again; the user drops the other.
    await b.store.update("volunteer", v.id, { notes: "fixed" });
    await b.store.discardChange(held[1]?.change_id ?? "");
    expect(await b.store.get("volunteer", fresh.id)).toBeNull();
    expect(await b.manager.sync()).toMatchObject({ pushed: 1, failed: 0 });
    expect(await b.store.refusedChanges()).toEqual([]);
    const truth = await expectConverged(email, b);
    expect(Object.keys(truth)).toEqual([`volunteer/${v.id}`]);
    expect(truth[`volunteer/${v.id}`]?.data).toMatchObject({ name: "V", notes: "fixed", phone: "555" });
  }, 60_000);

  it("pulls a type again in full, once, when its fingerprints changed since its rows were pulled, keeping local edits", async () => {
    const email = await newUser();
    const a = await newDevice(email);
    const b = await newDevice(email, { sqlite: true });
    for (const name of ["One", "Two", "Three"]) await a.store.create("volunteer", { name, phone: "555" });
    await a.store.create("project", { name: "P" });
    await a.manager.sync();
    await b.manager.sync();
    expect(b.events.repull ?? []).toEqual([]);
    const recorded = JSON.parse((await b.store.getMeta("sync.schema_fingerprints")) ?? "{}") as Record<string, { client: string; server: string | null }>;
    expect(Object.keys(recorded).sort()).toEqual([...entityTypes].sort());

    // As an older definition would have left it: the rows without a field's values, at the same
    // versions, and the volunteer's fingerprints recorded as they were then.
    const path = join(dir, `${b.id}.db`);
    await b.store.close();
    const file = new Database(path);
    file.prepare(`UPDATE volunteers SET phone = NULL`).run();
    file.close();
    b.store = createSqliteStore(path);
    b.manager = new SyncManager({ api: b.api, store: b.store, tokens: b.tokens, device: deviceOf(b.id), sleep: async () => {} });
    const repulled: string[] = [];
    b.manager.on("repull", (event) => repulled.push(event.entity_type));
    await b.store.setMeta("sync.schema_fingerprints", JSON.stringify({ ...recorded, volunteer: { client: "0000000000000000", server: recorded["volunteer"]?.server ?? null } }));
    const [first] = await b.store.list("volunteer");
    await b.store.update("volunteer", must(first).id, { notes: "offline edit" });

    await b.manager.sync();
    expect(repulled).toEqual(["volunteer"]);
    const rows = await b.store.list("volunteer");
    expect(rows.map((row) => row.data["phone"])).toEqual(["555", "555", "555"]);
    expect(rows.find((row) => row.id === first?.id)?.data["notes"]).toBe("offline edit");
    await b.manager.sync();
    expect(repulled).toEqual(["volunteer"]);
    await a.manager.sync();
    await expectConverged(email, a, b);

    // A store that recorded no fingerprints at all (written by a client that kept none) trusts none, once.
    await b.store.setMeta("sync.schema_fingerprints", null);
    await b.manager.sync();
    expect([...repulled].sort()).toEqual(["volunteer", ...entityTypes].sort());
  }, 60_000);

  it("a parked merge applied after a newer pull keeps the newer edit made elsewhere", async () => {
    const email = await newUser();
    const a = await newDevice(email);
    const b = await newDevice(email, { resolver: deferred });
    const v = await a.store.create("volunteer", { name: "V" });
    await a.manager.sync();
    await b.manager.sync();
    await a.store.update("volunteer", v.id, { email: "a1@example.org" });
    await a.manager.sync();
    // B also sets the email A set (to the same value), so the server meets a field both changed.
    await b.store.update("volunteer", v.id, { phone: "555", email: "a1@example.org" });
    await b.manager.sync();
    const [parked] = await b.manager.parkedConflicts();
    if (!parked) throw new Error("the conflict was not parked");
    await a.store.update("volunteer", v.id, { name: "A-new" });
    await a.manager.sync();
    await b.manager.sync(); // pulls the newer edit; the parked change waits
    await b.manager.resolveParked(parked.conflict.conflict_id, "merge");
    await b.manager.sync();
    await a.manager.sync();
    const truth = await expectConverged(email, a, b);
    expect(truth[`volunteer/${v.id}`]?.data).toMatchObject({ name: "A-new", email: "a1@example.org", phone: "555" });
  }, 60_000);

  it("a full resync the network interrupted still drops rows the server deleted", async () => {
    const email = await newUser();
    const a = await newDevice(email);
    const mode = { expire: false, down: false };
    const f: typeof fetch = async (input, init) => {
      if (String(input).includes("/sync/pull")) {
        const body: unknown = JSON.parse(typeof init?.body === "string" ? init.body : "{}");
        const since = typeof body === "object" && body !== null && "since" in body ? body.since : null;
        if (mode.expire && since !== null) {
          // The server purged tombstones past this device's cursor ...
          mode.expire = false;
          mode.down = true;
          return Response.json({ detail: "Sync token too old", code: "SYNC_RESET_REQUIRED" }, { status: 410 });
        }
        // ... and the network drops during the full sync that follows.
        if (mode.down) throw new TypeError("fetch failed");
      }
      return fetch(input, init);
    };
    const b = await newDevice(email, { fetch: f, sqlite: true });
    const gone = await a.store.create("volunteer", { name: "gone" });
    await a.store.create("volunteer", { name: "stays" });
    await a.manager.sync();
    await b.manager.sync();
    await a.store.delete("volunteer", gone.id);
    await a.manager.sync();
    mode.expire = true;
    await expect(b.manager.sync()).rejects.toThrow();
    mode.down = false;
    await b.manager.sync();
    expect((await b.store.list("volunteer")).map((row) => row.data["name"])).toEqual(["stays"]);
    await expectConverged(email, a, b);
  }, 60_000);

  it("a sync token the server does not accept leads to a full resync instead of failing every sync", async () => {
    const email = await newUser();
    const a = await newDevice(email);
    const b = await newDevice(email, { sqlite: true });
    const gone = await a.store.create("volunteer", { name: "gone" });
    await a.store.create("volunteer", { name: "stays" });
    await a.manager.sync();
    await b.manager.sync();
    await a.store.delete("volunteer", gone.id);
    await a.manager.sync();
    await b.store.setCursor("not-a-token-this-server-signed");
    await b.manager.sync();
    expect(b.events.reset).toHaveLength(1);
    expect((await b.store.list("volunteer")).map((row) => row.data["name"])).toEqual(["stays"]);
  }, 60_000);

  it("retries a push whose response was lost after the server committed it, without duplicates", async () => {
    const email = await newUser();
    let dropped = 0;
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).endsWith("/sync/push") && dropped === 0) {
        dropped += 1;
        await response.body?.cancel();
        throw new TypeError("socket hang up");
      }
      return response;
    };
    const a = await newDevice(email, { fetch: lossy });
    const row = await a.store.create("volunteer", { name: "Once" });
    await a.store.create("volunteer", { name: "Twice?" });
    await a.manager.sync();
    expect(dropped).toBe(1);
    expect(a.events.retry).toHaveLength(1);

    await a.store.update("volunteer", row.id, { notes: "after the retry" });
    const summary = await a.manager.sync();
    expect(summary).toMatchObject({ pushed: 1, conflicts: 0, failed: 0 });
    const truth = await expectConverged(email, a);
    expect(Object.values(truth).map((r) => r.data["name"]).sort()).toEqual(["Once", "Twice?"]);
    expect(truth[`volunteer/${row.id}`]?.version).toBe(2);
  }, 60_000);

  it("settles every applied change of each batch: new versions taken, edits queued behind them pushed next", async () => {
    const email = await newUser();
    const net = pushCanFail();
    const a = await newDevice(email, { fetch: net.fetch, sqlite: true, pushBatchSize: 40 });
    const synced = await a.store.putMany(
      "volunteer",
      Array.from({ length: 60 }, (_, i) => ({ name: `S${i}` })),
    );
    await a.manager.sync();
    // Offline: an edit of every synced row and 50 new rows, sent once but unanswered ...
    await a.store.transaction((write) => {
      for (const row of synced) write.update("volunteer", row.id, { phone: "1" });
      for (let i = 0; i < 50; i++) write.create("volunteer", { name: `N${i}` });
    });
    net.down.push = true;
    await expect(a.manager.sync()).rejects.toThrow();
    net.down.push = false;
    // The first batch went out: frozen. Edits made now queue behind its changes and fold into the others.
    const sent = new Set((await a.store.pendingChanges(1000)).filter((c) => c.sent_at !== null).map((c) => c.entity_id));
    expect(sent.size).toBe(40);
    const rows = await a.store.list("volunteer");
    const edited = new Set(rows.filter((_, i) => i % 2 === 0).map((row) => row.id));
    await a.store.transaction((write) => {
      for (const id of edited) write.update("volunteer", id, { notes: "edited" });
    });
    const queued = [...edited].filter((id) => sent.has(id));
    expect(queued.length).toBeGreaterThan(0);
    expect(await a.store.pendingCount()).toBe(110 + queued.length);

    const summary = await a.manager.sync();
    expect(summary).toMatchObject({ pushed: 110 + queued.length, conflicts: 0, failed: 0 });
    expect(await a.store.pendingCount()).toBe(0);
    const truth = await expectConverged(email, a);
    for (const row of rows) {
      const created = String(row.data["name"]).startsWith("N");
      const version = (created ? 1 : 2) + (queued.includes(row.id) ? 1 : 0);
      expect(truth[`volunteer/${row.id}`], row.id).toMatchObject({
        version,
        data: { phone: created ? null : "1", notes: edited.has(row.id) ? "edited" : null },
      });
      expect((await a.store.get("volunteer", row.id))?.version, row.id).toBe(version);
    }
  }, 60_000);

  it("refuses a push answer whose results are out of order, settling nothing of the batch", async () => {
    const email = await newUser();
    const shuffled: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith("/sync/push")) return response;
      const body: unknown = await response.json();
      if (typeof body !== "object" || body === null || !("results" in body) || !Array.isArray(body.results)) throw new TypeError("no results");
      return Response.json({ ...body, results: [...body.results].reverse() }, { status: response.status });
    };
    const a = await newDevice(email, { fetch: shuffled });
    await a.store.putMany("volunteer", [{ name: "A" }, { name: "B" }]);
    await expect(a.manager.sync()).rejects.toMatchObject({ code: "INVALID_RESPONSE" });
    expect(await a.store.pendingCount()).toBe(2);
    expect((await a.store.list("volunteer")).map((row) => row.version)).toEqual([0, 0]);
  }, 60_000);

  it("a revoked device stops, clears its tokens and says so", async () => {
    const email = await newUser();
    const lost = await newDevice(email);
    const other = await newDevice(email);
    await lost.manager.sync();
    await other.manager.sync();
    await lost.store.create("volunteer", { name: "Unsent" });

    await other.api.revokeDevice(lost.id);
    await expect(lost.manager.sync()).rejects.toMatchObject({ revoked: true });
    expect(await lost.tokens.load()).toBeNull();
    expect(lost.events.revoked).toHaveLength(1);
    expect(await lost.manager.isAuthenticatedOffline()).toBe(false);
    // The unsent work is kept for whoever signs in next.
    expect(await lost.store.pendingCount()).toBe(1);
  }, 60_000);

  it("refreshes an access token the server refuses, once, and carries on", async () => {
    const email = await newUser();
    const a = await newDevice(email);
    const before = await a.tokens.load();
    if (!before) throw new Error("no tokens after login");
    await a.tokens.save({ ...before, access_token: `${before.access_token.slice(0, -4)}AAAA` });
    await a.store.create("volunteer", { name: "Refreshed" });
    expect(await a.manager.sync()).toMatchObject({ pushed: 1 });
    const after = await a.tokens.load();
    expect(after?.refresh_token).not.toBe(before.refresh_token);
    expect(await a.manager.isAuthenticatedOffline()).toBe(true);
  }, 60_000);

  it("an initial sync of 10,000 rows arrives complete", async () => {
    const email = await newUser();
    const seeder = await newDevice(email);
    await seeder.manager.sync(); // registers the device
    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const changes = Array.from({ length: 1000 }, (_, i) => {
        const id = uuidv7();
        ids.push(id);
        return { change_id: randomUUID(), entity_type: "volunteer", entity_id: id, operation: "CREATE" as const, data: { name: `V ${batch * 1000 + i}` }, version: 0 };
      });
      const answer = await seeder.api.push({ device_id: seeder.id, changes });
      expect(answer.applied).toBe(1000);
    }

    const fresh = await newDevice(email, { pullLimit: 1000 });
    const summary = await fresh.manager.sync();
    expect(summary.pulled).toBe(10_000);
    const rows = await fresh.store.list("volunteer");
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(new Set(rows.map((r) => r.data["name"])).size).toBe(10_000);
  }, 180_000);
});

describe("SyncManager, asked to sync while it syncs", () => {
  it("runs once more after the current sync, so a write made during it is sent", async () => {
    const email = await newUser();
    const device = await newDevice(email);
    let during: Promise<unknown> | null = null;
    let written: Promise<unknown> | null = null;
    const off = device.manager.on("done", () => {
      if (during) return;
      // The run has pushed and pulled; a write now is behind it.
      written = device.store.create("volunteer", { name: "Late" });
      during = device.manager.sync();
    });
    const first = device.manager.sync();
    await first;
    off();
    expect(during).not.toBeNull();
    expect(during).not.toBe(first);
    await written;
    await during;
    expect(await device.store.pendingCount()).toBe(0);
    const onServer = Object.values(await serverSnapshot(email)).map((row) => row.data["name"]);
    expect(onServer).toEqual(["Late"]);
  });
});
