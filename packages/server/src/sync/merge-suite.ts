import fc from "fast-check";
import { PROTOCOL_HEADER, type ConflictData, type EntityChange, type PushResponse } from "@repensar/contracts";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../testing/harness";
import { create, pullAll, push, remove, update } from "./sync-suite";
import { createActor, type SyncActor } from "./testing";

/*
 * Automatic three-way merge on push, run on PGlite (merge.test.ts) and PostgreSQL (merge.pg.test.ts).
 * The property test plays devices that edit shared rows offline and sync in random orders against a
 * model of the rule: a stale UPDATE merges exactly when the fields it changed and the fields changed
 * on the server since its base are disjoint.
 */

/** An entity type for the workload, with three fields it edits and a value maker per field. */
interface Workload {
  type: "volunteer" | "time_entry";
  /** Whether the definition lets the server merge (time_entry opts out: the behaviour before merges). */
  merges: boolean;
  create: (n: number) => Record<string, unknown>;
  fields: readonly [string, string, string];
  value: (field: string, n: number) => unknown;
}

const day = (n: number): string => new Date(Date.UTC(2025, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);

const workloads: Record<"merging" | "optedOut", Workload> = {
  merging: {
    type: "volunteer",
    merges: true,
    create: (n) => ({ name: `Volunteer ${n}` }),
    fields: ["phone", "notes", "email"],
    value: (field, n) => (field === "email" ? `e${n}@example.org` : field === "phone" ? `555-${n}` : `${field} ${n}`),
  },
  optedOut: {
    type: "time_entry",
    merges: false,
    create: () => ({ volunteer_id: "vol", date: day(0), hours: 1 }),
    fields: ["notes", "hours", "date"],
    value: (field, n) => (field === "hours" ? (n % 2300) / 100 + 0.01 : field === "date" ? day(n % 3000) : `notes ${n}`),
  },
};

/** One round: some devices edit fields of rows offline, then some devices sync, in this order. */
interface Round {
  edits: { device: number; row: number; field: number }[];
  syncs: number[];
}

const plan = fc.integer({ min: 2, max: 4 }).chain((devices) =>
  fc.record({
    devices: fc.constant(devices),
    rows: fc.integer({ min: 1, max: 3 }),
    rounds: fc.array(
      fc.record({
        edits: fc.array(fc.record({ device: fc.nat(devices - 1), row: fc.nat(2), field: fc.nat(2) }), { maxLength: 8 }),
        syncs: fc.uniqueArray(fc.nat(devices - 1), { maxLength: devices }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  }),
);
type Plan = { devices: number; rows: number; rounds: Round[] };

interface DeviceRow {
  /** The version this device's copy (and any pending patch) is based on. */
  version: number;
  data: Record<string, unknown>;
  patch: Record<string, unknown>;
  /** The newest server state a pull brought while the patch was pending. */
  seen?: { version: number; data: Record<string, unknown> };
}

interface Tally {
  stale: number;
  conflicts: number;
  merges: number;
}

/**
 * Plays a plan against the server and a model of it; answers what happened. Every push result is
 * checked against the model's prediction as it arrives.
 */
async function play(server: TestServer, workload: Workload, p: Plan, seq: { n: number }): Promise<Tally> {
  const first = await createActor(server);
  const actors: SyncActor[] = [first];
  for (let d = 1; d < p.devices; d++) actors.push(await createActor(server, { orgId: first.orgId }));
  const ids = Array.from({ length: p.rows }, (_, r) => `row-${r}`);
  // Time entries name the volunteer whose hours they are.
  if (workload.type === "time_entry") await push(first, [create("vol", { name: "Volunteer" })]);
  await push(first, ids.map((id) => create(id, workload.create(seq.n++), workload.type)));

  // The model of the server: every version of every row, as the history would hold it.
  const versions = new Map<string, Record<string, unknown>[]>();
  const tokens: (string | null)[] = [];
  const copies: Map<string, DeviceRow>[] = [];
  for (const actor of actors) {
    const { changes, token } = await pullAll(actor, { types: [workload.type] });
    tokens.push(token);
    const copy = new Map<string, DeviceRow>();
    for (const c of changes) copy.set(c.entity_id, { version: c.version, data: own(workload, c.data), patch: {} });
    copies.push(copy);
  }
  for (const id of ids) versions.set(id, [{}, must(copies[0]?.get(id)).data]);

  // Every acknowledged write of each field, in the order the server applied them.
  const acknowledged = new Map<string, unknown>();
  const tally: Tally = { stale: 0, conflicts: 0, merges: 0 };

  const sync = async (d: number): Promise<void> => {
    const actor = must(actors[d]);
    const copy = must(copies[d]);
    const pending = ids.filter((id) => Object.keys(must(copy.get(id)).patch).length > 0);
    if (pending.length > 0) {
      const changes = pending.map((id) => update(id, must(copy.get(id)).version, must(copy.get(id)).patch, workload.type));
      const answer: PushResponse = await push(actor, changes);
      for (const [i, id] of pending.entries()) {
        const row = must(copy.get(id));
        const history = must(versions.get(id));
        const current = history.length - 1;
        const base = must(history[row.version]);
        const now = must(history[current]);
        const clientFields = Object.keys(row.patch);
        const serverFields = workload.fields.filter((f) => base[f] !== now[f]);
        const stale = row.version !== current;
        const expectConflict = stale && (!workload.merges || clientFields.some((f) => serverFields.includes(f)));
        const result = must(answer.results?.[i]);
        if (stale) tally.stale++;
        if (expectConflict) {
          tally.conflicts++;
          expect(result.status, `${id}: stale by ${current - row.version}, ${clientFields} against ${serverFields}`).toBe("conflict");
          const conflict: ConflictData | undefined = answer.conflicts.find((c) => c.conflict_id === result.conflict_id);
          expect(conflict?.base_data).toMatchObject({ version: row.version, ...base });
          // The device gives its edit up and takes the newest server row it saw (or will pull).
          row.patch = {};
          if (row.seen && row.seen.version > row.version) copy.set(id, { version: row.seen.version, data: row.seen.data, patch: {} });
          continue;
        }
        const next = { ...now, ...row.patch };
        history.push(next);
        for (const f of clientFields) acknowledged.set(`${id}/${f}`, row.patch[f]);
        expect(result).toMatchObject({ status: "applied", version: current + 1 });
        if (stale) {
          tally.merges++;
          expect(result.merged).toBe(true);
          expect(own(workload, result.data ?? {})).toEqual(next);
        } else {
          expect(result.merged).toBeUndefined();
        }
        copy.set(id, { version: current + 1, data: next, patch: {} });
      }
    }
    const pulled = await pullAll(actor, { types: [workload.type], since: tokens[d] ?? null });
    tokens[d] = pulled.token;
    for (const c of pulled.changes) {
      const row = must(copy.get(c.entity_id));
      // A row with pending edits keeps its base: the edits are pushed against it.
      if (c.version <= row.version || c.version <= (row.seen?.version ?? 0)) continue;
      if (Object.keys(row.patch).length === 0) copy.set(c.entity_id, { version: c.version, data: own(workload, c.data), patch: {} });
      else row.seen = { version: c.version, data: own(workload, c.data) };
    }
  };

  for (const round of p.rounds) {
    for (const edit of round.edits) {
      if (edit.device >= p.devices || edit.row >= p.rows) continue;
      const row = must(copies[edit.device]?.get(must(ids[edit.row])));
      const field = must(workload.fields[edit.field]);
      row.patch[field] = workload.value(field, seq.n++);
    }
    for (const d of round.syncs) await sync(d);
  }
  for (let d = 0; d < p.devices; d++) await sync(d);
  for (let d = 0; d < p.devices; d++) await sync(d);

  // Every device ends with the server's rows, and no acknowledged write is lost: each field holds the
  // last value the server acknowledged for it.
  const { changes } = await pullAll(first, { types: [workload.type] });
  const finalRows = new Map(changes.map((c: EntityChange) => [c.entity_id, own(workload, c.data)]));
  for (const id of ids) {
    const expected = must(versions.get(id)).at(-1);
    expect(finalRows.get(id)).toEqual(expected);
    for (const f of workload.fields) {
      const written = acknowledged.get(`${id}/${f}`);
      if (written !== undefined) expect(finalRows.get(id)?.[f]).toEqual(written);
    }
  }
  for (const copy of copies) for (const id of ids) expect(must(copy.get(id)).data).toEqual(finalRows.get(id));
  return tally;
}

/** The workload's fields of a row. */
function own(workload: Workload, data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(workload.fields.map((f) => [f, data[f] ?? null]));
}

function must<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new Error("expected a value");
  return value;
}

export function mergeSuite(name: string, options: { runs: number }): void {
  describe(`automatic merge on push on ${name}`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer();
    });
    afterAll(async () => {
      await server.close();
    });

    it("merges a stale UPDATE of fields untouched since its base, answering the merged row", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("m1", { name: "Ana", phone: "111" })]);
      await push(a, [update("m1", 1, { phone: "222" })]);
      const stale = update("m1", 1, { notes: "from b" });
      const res = await push(b, [stale]);
      expect(res).toMatchObject({ applied: 1, conflicts: [] });
      expect(res.results?.[0]).toMatchObject({
        status: "applied",
        version: 3,
        merged: true,
        data: { id: "m1", version: 3, name: "Ana", phone: "222", notes: "from b" },
      });
      // A replay answers the same, writing nothing.
      expect((await push(b, [stale])).results).toEqual(res.results);
      const row = (await pullAll(a, { types: ["volunteer"] })).changes.find((c) => c.entity_id === "m1");
      expect(row).toMatchObject({ version: 3, modified_by_device_id: b.deviceId, data: { phone: "222", notes: "from b" } });
      const [merged] = await server.app.context.database.rows<{ merged: boolean; changed_fields: string[] }>(
        sql`select merged, changed_fields from entity_history where org_id = ${a.orgId} and entity_id = 'm1' and version = 3`,
      );
      expect(merged).toEqual({ merged: true, changed_fields: ["notes"] });
      expect(await (await server.fetch("/metrics")).text()).toMatch(/^repensar_sync_changes_merged_total [1-9]\d*$/m);
    });

    it("gives a client of the source's protocol (no protocol header) the conflict it always got, with its base", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("src", { name: "Ana", phone: "111" })]);
      await push(a, [update("src", 1, { phone: "222" })]);
      const { [PROTOCOL_HEADER]: _protocol, ...sourceHeaders } = b.headers;
      const res = await server.fetch("/sync/push", {
        method: "POST",
        headers: sourceHeaders,
        body: JSON.stringify({ device_id: b.deviceId, changes: [update("src", 1, { notes: "from b" })] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as PushResponse;
      expect(body.results?.[0]).toMatchObject({ status: "conflict" });
      expect(body.results?.[0]?.merged).toBeUndefined();
      expect(body.conflicts[0]).toMatchObject({ conflict_type: "version_mismatch", base_data: { phone: "111", version: 1 } });
    });

    it("answers a merged change sent again without change_id with its merged row, recording nothing", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("m3", { name: "Eva" })]);
      await push(a, [update("m3", 1, { phone: "1" })]);
      const { change_id: _id, ...sourceStyle } = update("m3", 1, { notes: "from b" });
      const first = await push(b, [sourceStyle]);
      expect(first.results?.[0]).toMatchObject({ status: "applied", version: 3, merged: true });
      const again = await push(b, [sourceStyle]);
      expect(again).toMatchObject({ applied: 1, conflicts: [] });
      expect(again.results?.[0]).toMatchObject({ status: "applied", version: 3, merged: true, data: { phone: "1", notes: "from b" } });
    });

    it("keeps overlapping edits a conflict that carries the base, and merges within one batch", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("m2", { name: "Rui", phone: "1" })]);
      await push(a, [update("m2", 1, { phone: "2", notes: "a" })]);
      const res = await push(b, [update("m2", 1, { phone: "3" }), update("m2", 1, { email: "rui@example.org" })]);
      expect(res.results?.map((r) => [r.status, r.version, r.merged])).toEqual([
        ["conflict", undefined, undefined],
        ["applied", 3, true],
      ]);
      expect(res.conflicts[0]).toMatchObject({
        client_version: 1,
        server_version: 2,
        base_data: { id: "m2", version: 1, name: "Rui", phone: "1", notes: null },
        server_data: { phone: "2", notes: "a" },
        client_data: { phone: "3" },
      });
      // Based on the version this batch moved past: its base is known without the history.
      const c = await createActor(server, { orgId: a.orgId });
      const inBatch = await push(c, [update("m2", 3, { name: "Rui B" }), update("m2", 3, { phone: "9" })]);
      expect(inBatch.results?.map((r) => [r.status, r.version, r.merged])).toEqual([
        ["applied", 4, undefined],
        ["applied", 5, true],
      ]);
    });

    it("merges nothing for an entity or a field that opts out, and nothing on a tombstone or without a base", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("v", { name: "Volunteer" }), create("te", { volunteer_id: "v", date: "2025-01-01", hours: 2 }, "time_entry")]);
      await push(a, [update("te", 1, { hours: 3 }, "time_entry")]);
      const entity = await push(b, [update("te", 1, { notes: "n" }, "time_entry")]);
      expect(entity.results?.[0]?.status).toBe("conflict");
      expect(entity.conflicts[0]?.base_data).toMatchObject({ hours: 2, version: 1 });

      await push(a, [create("pr", { name: "P", start_date: "2025-01-01", end_date: "2025-02-01" }, "project")]);
      await push(a, [update("pr", 1, { start_date: "2025-01-15" }, "project")]);
      expect((await push(b, [update("pr", 1, { end_date: "2025-01-10" }, "project")])).results?.[0]?.status).toBe("conflict");
      expect((await push(b, [update("pr", 1, { location: "Porto" }, "project")])).results?.[0]).toMatchObject({ status: "applied", merged: true });
      await push(a, [update("pr", 3, { end_date: "2025-03-01" }, "project")]);
      expect((await push(b, [update("pr", 3, { location: "Braga" }, "project")])).results?.[0]?.status).toBe("conflict");

      await push(a, [create("gone", { name: "G" })]);
      await push(a, [update("gone", 1, { phone: "1" })]);
      await push(a, [remove("gone", 2)]);
      expect((await push(b, [update("gone", 1, { notes: "n" })])).conflicts[0]).toMatchObject({ conflict_type: "update_on_deleted" });

      await push(a, [create("nobase", { name: "N" })]);
      await push(a, [update("nobase", 1, { phone: "1" })]);
      await server.app.context.database.rows(sql`delete from entity_history where org_id = ${a.orgId} and entity_id = 'nobase' and version = 1 returning 1`);
      const unknown = await push(b, [update("nobase", 1, { notes: "n" })]);
      expect(unknown.results?.[0]?.status).toBe("conflict");
      expect(unknown.conflicts[0]).not.toHaveProperty("base_data");
    });

    it("property: devices editing shared rows offline conflict exactly when they changed the same field since their common base", async () => {
      const seq = { n: 1 };
      const totals = { merging: { stale: 0, conflicts: 0, merges: 0 }, optedOut: { stale: 0, conflicts: 0, merges: 0 } };
      await fc.assert(
        fc.asyncProperty(plan, async (p) => {
          for (const key of ["merging", "optedOut"] as const) {
            const t = await play(server, workloads[key], p, seq);
            totals[key].stale += t.stale;
            totals[key].conflicts += t.conflicts;
            totals[key].merges += t.merges;
          }
        }),
        { numRuns: options.runs, seed: 12, endOnFailure: true },
      );
      // The same plans: without merging every stale edit was a conflict; with it, only overlapping ones.
      console.info(`merge workload on ${name}: ${options.runs} plans; without merging ${totals.optedOut.conflicts} conflicts of ${totals.optedOut.stale} stale edits; with merging ${totals.merging.conflicts} conflicts, ${totals.merging.merges} merges of ${totals.merging.stale} stale edits`);
      expect(totals.optedOut.conflicts).toBe(totals.optedOut.stale);
      expect(totals.merging.merges).toBeGreaterThan(0);
      expect(totals.merging.conflicts).toBeLessThan(totals.optedOut.conflicts);
    });
  });
}
