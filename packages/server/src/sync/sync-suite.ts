import { randomUUID } from "node:crypto";
import {
  entityDefinitions,
  entityFingerprint,
  entityTypes,
  schemaFingerprints,
  type ConflictListResponse,
  type EntityChange,
  type PullResponse,
  type PushResponse,
  type ResolveConflictResponse,
  type SyncSchemaResponse,
  type SyncStatusResponse,
} from "@repensar/contracts";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, statusOnOwnConnection, type TestServer } from "../testing/harness";
import { purgeTombstones } from "./tombstones";
import { createActor, type SyncActor } from "./testing";
import { encodeSyncToken } from "./token";

/** Every entity type the definitions name: a type added there is pulled, served and reported here too. */
const ALL: string[] = [...entityTypes];

export async function pullAll(actor: SyncActor, options: { limit?: number; since?: string | null; types?: string[] } = {}) {
  const changes: EntityChange[] = [];
  let since = options.since ?? null;
  let pages = 0;
  await actor.settle();
  for (;;) {
    const page = await actor.call<PullResponse>("/sync/pull", {
      device_id: actor.deviceId,
      entity_types: options.types ?? ALL,
      since,
      limit: options.limit ?? 100,
    });
    changes.push(...page.changes);
    since = page.sync_token;
    pages++;
    if (!page.has_more) return { changes, token: since, pages };
    if (pages > 10_000) throw new Error("pull never ended");
  }
}

export function push(actor: SyncActor, changes: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return actor.call<PushResponse>("/sync/push", { device_id: actor.deviceId, changes, ...extra });
}

export const create = (entityId: string, data: Record<string, unknown>, type = "volunteer") => ({
  entity_type: type,
  entity_id: entityId,
  operation: "CREATE",
  data,
  version: 0,
  change_id: randomUUID(),
});
export const update = (entityId: string, version: number, data: Record<string, unknown>, type = "volunteer") => ({
  entity_type: type,
  entity_id: entityId,
  operation: "UPDATE",
  data,
  version,
  change_id: randomUUID(),
});
export const remove = (entityId: string, version: number, type = "volunteer") => ({
  entity_type: type,
  entity_id: entityId,
  operation: "DELETE",
  data: {},
  version,
  change_id: randomUUID(),
});

/** The newest state per row, as a client applying the changes in order would hold it. */
export function replay(changes: EntityChange[]): Map<string, { version: number; deleted: boolean; data: Record<string, unknown> }> {
  const rows = new Map<string, { version: number; deleted: boolean; data: Record<string, unknown> }>();
  for (const c of changes) rows.set(`${c.entity_type}/${c.entity_id}`, { version: c.version, deleted: c.operation === "DELETE", data: c.data });
  return rows;
}

/** The sync API over real HTTP; run on PGlite (sync.test.ts) and PostgreSQL (sync.pg.test.ts). */
export function syncSuite(name: string): void {
  describe(`sync over HTTP on ${name}`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ maxBodyBytes: 1024 * 1024 });
    });
    afterAll(async () => {
      await server.close();
    });

    it("pushes a CREATE and pulls it back with every field in its wire shape", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      const res = await push(a, [
        create("p1", { name: "Beach clean-up", start_date: "2025-10-27", status: "active" }, "project"),
        create("v1", { name: "Ana", skills: ["first aid", "driving"], email: "ana@example.org" }),
        create("t1", { volunteer_id: "v1", date: "2025-10-27", hours: 1.5 }, "time_entry"),
      ]);
      expect(res).toMatchObject({ applied: 3, failed: 0, conflicts: [] });
      expect(res.results?.map((r) => [r.status, r.version])).toEqual([["applied", 1], ["applied", 1], ["applied", 1]]);
      const { changes } = await pullAll(b);
      const byId = new Map(changes.map((c) => [c.entity_id, c]));
      expect(byId.get("v1")).toMatchObject({
        entity_type: "volunteer",
        operation: "CREATE",
        version: 1,
        modified_by_device_id: a.deviceId,
        data: { id: "v1", name: "Ana", skills: ["first aid", "driving"], email: "ana@example.org", phone: null, version: 1 },
      });
      expect(byId.get("p1")?.data).toMatchObject({ start_date: "2025-10-27", status: "active", end_date: null });
      expect(byId.get("t1")?.data).toMatchObject({ hours: 1.5, date: "2025-10-27" });
      expect(byId.get("v1")?.modified_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(byId.get("v1")?.data["updated_at"]).toBe(byId.get("v1")?.modified_at);
    });

    it("serves each entity type's definition and fingerprint at /sync/schema, and the fingerprints on pull and status", async () => {
      const a = await createActor(server);
      const fingerprints = schemaFingerprints();

      expect((await fetch(`${server.url}/sync/schema`)).status).toBe(401);
      const res = await a.get("/sync/schema");
      expect(res.status).toBe(200);
      const body = (await res.json()) as SyncSchemaResponse;
      expect(body.entities.map((e) => e.entity_type)).toEqual(ALL);
      expect(body.schema_fingerprints).toEqual(fingerprints);
      const volunteer = body.entities.find((e) => e.entity_type === "volunteer");
      expect(volunteer?.fields).toEqual(entityDefinitions.volunteer.fields);
      // A client hashing the served fields gets the served fingerprint.
      for (const entity of body.entities) expect(entityFingerprint({ fields: entity.fields, merge: entity.merge })).toBe(entity.fingerprint);

      const page = await a.call<PullResponse>("/sync/pull", { device_id: a.deviceId, entity_types: ["volunteer", "task"], since: null });
      expect(page.schema_fingerprints).toEqual({ volunteer: fingerprints.volunteer, task: fingerprints.task });
      expect(page).not.toHaveProperty("skipped_entity_types");
      await a.settle();
      const status = (await (await a.get(`/sync/status?device_id=${a.deviceId}`)).json()) as SyncStatusResponse;
      expect(status.schema_fingerprints).toEqual(fingerprints);
    });

    it("leaves tombstones out of a full sync and sends them to a device holding a token", async () => {
      const a = await createActor(server);
      await push(a, [create("gone", { name: "Gone" }), create("kept", { name: "Kept" })]);
      const before = await pullAll(a);
      await push(a, [remove("gone", 1)]);
      const full = await pullAll(a);
      expect(full.changes.map((c) => c.entity_id)).toEqual(["kept"]);
      const incremental = await pullAll(a, { since: before.token });
      expect(incremental.changes).toEqual([
        expect.objectContaining({ entity_id: "gone", operation: "DELETE", version: 2, data: {} }),
      ]);
      const empty = await pullAll(a, { since: incremental.token });
      expect(empty.changes).toEqual([]);
    });

    it("sends a delete that commits between the pages of a full sync", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("r1", { name: "R1" }), create("r2", { name: "R2" }), create("r3", { name: "R3" })]);
      await b.settle();
      const first = await b.call<PullResponse>("/sync/pull", { device_id: b.deviceId, entity_types: ["volunteer"], since: null, limit: 1 });
      expect(first.changes.map((c) => c.entity_id)).toEqual(["r1"]);
      expect(first.has_more).toBe(true);
      await push(a, [remove("r1", 1)]);
      const rest = await pullAll(b, { since: first.sync_token, limit: 1, types: ["volunteer"] });
      const after = await pullAll(b, { since: rest.token, types: ["volunteer"] });
      const held = replay([...first.changes, ...rest.changes, ...after.changes]);
      expect(held.get("volunteer/r1")).toMatchObject({ deleted: true, version: 2 });
      expect([...held.values()].filter((r) => !r.deleted)).toHaveLength(2);
    });

    it("yields the same rows whatever the page size, each exactly once", async () => {
      const a = await createActor(server);
      const seed: Record<string, unknown>[] = [];
      for (let i = 0; i < 23; i++) seed.push(create(`v${i}`, { name: `V${i}` }));
      for (let i = 0; i < 9; i++) seed.push(create(`p${i}`, { name: `P${i}` }, "project"));
      await push(a, seed);
      await push(a, [update("v3", 1, { name: "V3b" }), remove("v4", 1), update("p2", 1, { location: "Porto" }, "project")]);
      const start = await pullAll(a, { limit: 1000 });
      await push(a, [update("v5", 1, { name: "V5b" }), remove("p3", 1, "project"), create("v99", { name: "New" })]);

      const walks = [];
      for (const limit of [1, 7, 100, 1000]) {
        const full = await pullAll(a, { limit });
        const ids = full.changes.map((c) => `${c.entity_type}/${c.entity_id}`);
        expect(new Set(ids).size).toBe(ids.length);
        const incremental = await pullAll(a, { limit, since: start.token });
        walks.push({ full: replay(full.changes), incremental: replay(incremental.changes), pages: full.pages });
      }
      expect(walks[0]?.pages).toBe(23); // 23 live volunteers (v4 gone, v99 new), one per page
      for (const walk of walks) {
        expect(walk.full).toEqual(walks[3]?.full);
        expect(walk.incremental).toEqual(walks[3]?.incremental);
      }
      expect([...(walks[3]?.full.keys() ?? [])].sort()).toHaveLength(23 + 8);
      expect(walks[3]?.incremental.get("volunteer/v5")).toMatchObject({ version: 2, data: { name: "V5b" } });
      expect(walks[3]?.incremental.get("project/p3")).toMatchObject({ deleted: true });
      expect(walks[3]?.incremental.size).toBe(3);
    });

    it("reads an ISO-8601 `since` conservatively, tombstones included", async () => {
      const a = await createActor(server);
      await push(a, [create("iso1", { name: "A" }), create("iso2", { name: "B" })]);
      await push(a, [remove("iso2", 1)]);
      const since = new Date(Date.now() - 60_000).toISOString();
      const { changes } = await pullAll(a, { since });
      expect(changes.map((c) => [c.entity_id, c.operation]).sort()).toEqual([["iso1", "CREATE"], ["iso2", "DELETE"]]);
      const far = await pullAll(a, { since: new Date(Date.now() + 3_600_000).toISOString() });
      expect(far.changes).toEqual([]);
    });

    it("skips unknown types beside known ones; refuses only unknown types and bad limits (422), tampered or foreign tokens (400), stale ones (410)", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      const body = (extra: Record<string, unknown>) => ({ device_id: a.deviceId, entity_types: ["volunteer"], since: null, ...extra });
      const mixed = await a.post("/sync/pull", body({ entity_types: ["volunteer", "spaceship"] }));
      expect(mixed.status).toBe(200);
      expect((await mixed.json()) as PullResponse).toMatchObject({ skipped_entity_types: ["spaceship"], has_more: false });
      for (const extra of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { entity_types: [] }]) {
        const res = await a.post("/sync/pull", body(extra));
        expect(res.status).toBe(422);
      }
      const unknown = (await (await a.post("/sync/pull", body({ entity_types: ["spaceship"] }))).json()) as { detail: { type: string }[] };
      expect(unknown.detail[0]?.type).toBe("unknown_entity_type");

      const { token } = await pullAll(a);
      const [head, mac] = token.split(".");
      const tampered = `${head?.slice(0, -2)}AA.${mac}`;
      for (const since of [tampered, `${head}.${"A".repeat(43)}`, "garbage", "2025-13-45T99:00:00Z"]) {
        const res = await a.post("/sync/pull", body({ since }));
        expect(res.status).toBe(400);
        expect(((await res.json()) as { code: string }).code).toBe("INVALID_SYNC_TOKEN");
      }
      const foreign = await b.post("/sync/pull", { ...body({ since: token }), device_id: b.deviceId });
      expect(foreign.status).toBe(400);

      const ctx = server.app.context;
      const old = encodeSyncToken(
        { v: 1, u: a.userId, o: a.orgId, e: ctx.database.epoch, t: Math.floor(Date.now() / 1000) - 91 * 86_400, c: {} },
        ctx.keys.tokenSecret,
      );
      const otherEpoch = encodeSyncToken(
        { v: 1, u: a.userId, o: a.orgId, e: randomUUID(), t: Math.floor(Date.now() / 1000), c: {} },
        ctx.keys.tokenSecret,
      );
      for (const since of [old, otherEpoch]) {
        const res = await a.post("/sync/pull", body({ since }));
        expect(res.status).toBe(410);
        expect(((await res.json()) as { code: string }).code).toBe("SYNC_RESET_REQUIRED");
      }
    });

    it("answers a replayed change with its first answer and applies it once", async () => {
      const a = await createActor(server);
      const first = create("idem", { name: "Once" });
      const r1 = await push(a, [first]);
      const edit = update("idem", 1, { name: "Twice" });
      const r2 = await push(a, [edit]);
      const again = await push(a, [first, edit]);
      expect(again.results).toEqual([...(r1.results ?? []), ...(r2.results ?? [])]);
      const { changes } = await pullAll(a, { types: ["volunteer"] });
      expect(changes.find((c) => c.entity_id === "idem")).toMatchObject({ version: 2, data: { name: "Twice" } });
    });

    it("applies an UPDATE patch and keeps the fields it does not name", async () => {
      const a = await createActor(server);
      await push(a, [create("patch", { name: "Rui", email: "rui@example.org", skills: ["cooking"] })]);
      const res = await push(a, [update("patch", 1, { phone: "+351 900 000 000" })]);
      expect(res.results?.[0]).toMatchObject({ status: "applied", version: 2 });
      const { changes } = await pullAll(a, { types: ["volunteer"] });
      expect(changes.find((c) => c.entity_id === "patch")?.data).toMatchObject({
        name: "Rui",
        email: "rui@example.org",
        skills: ["cooking"],
        phone: "+351 900 000 000",
      });
    });

    it("fails a bad change alone, naming the field, and applies the rest", async () => {
      const a = await createActor(server);
      const res = await push(a, [
        create("ok", { name: "Fine" }),
        create("bad1", { name: "X", shoe_size: 42 }),
        create("bad2", { name: 7 }),
        create("bad3", { volunteer_id: "v", date: "2025-02-30", hours: 1 }, "time_entry"),
        create("bad4", { volunteer_id: "v", date: "2025-02-03", hours: 25 }, "time_entry"),
        { ...create("bad5", { name: "X", id: "other" }) },
        create("bad6", { name: "nul\u0000byte" }),
        create("bad7", { name: "lone \ud800" }),
        create("bad8", { name: "X" }, "spaceship"),
        update("missing", 1, { name: "X" }),
        remove("missing", 1),
      ]);
      expect(res.applied).toBe(1);
      expect(res.failed).toBe(10);
      const errors = res.results?.map((r) => [r.status, r.error?.code]);
      expect(errors).toEqual([
        ["applied", undefined],
        ...Array.from({ length: 7 }, () => ["failed", "VALIDATION_ERROR"]),
        ["failed", "UNKNOWN_ENTITY_TYPE"],
        ["failed", "ENTITY_NOT_FOUND"],
        ["failed", "ENTITY_NOT_FOUND"],
      ]);
      expect(res.results?.[1]?.error?.detail).toEqual([{ loc: ["data", "shoe_size"], msg: "Unknown field 'shoe_size'", type: "unknown_field" }]);
      expect(JSON.stringify(res.results?.[3]?.error?.detail)).toContain('"date"');
    });

    it("decides one mixed batch in request order: creates, repeated updates, a delete, a conflict and a refusal", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("mix-old", { name: "Old" }), create("mix-gone", { name: "Gone" }), create("mix-stale", { name: "Stale" })]);
      await push(b, [update("mix-stale", 1, { notes: "moved on elsewhere" })]);
      const batch = [
        create("mix-new", { name: "New", email: "new@example.org" }),
        update("mix-new", 1, { phone: "+351 911 111 111" }),
        update("mix-new", 2, { name: "Newer" }),
        remove("mix-gone", 1),
        // The field the other device changed: a stale edit of another field would merge.
        update("mix-stale", 1, { notes: "Stale edit" }),
        create("mix-bad", { name: "X", shoe_size: 42 }),
        update("mix-old", 1, { notes: "kept" }),
      ];
      const res = await push(a, batch);
      expect(res.results?.map((r) => [r.entity_id, r.status, r.version ?? r.error?.code ?? r.conflict_id !== undefined])).toEqual([
        ["mix-new", "applied", 1],
        ["mix-new", "applied", 2],
        ["mix-new", "applied", 3],
        ["mix-gone", "applied", 2],
        ["mix-stale", "conflict", true],
        ["mix-bad", "failed", "VALIDATION_ERROR"],
        ["mix-old", "applied", 2],
      ]);
      expect(res).toMatchObject({ applied: 5, failed: 1 });
      expect(res.conflicts).toEqual([
        expect.objectContaining({
          conflict_id: res.results?.[4]?.conflict_id,
          entity_id: "mix-stale",
          conflict_type: "version_mismatch",
          client_version: 1,
          server_version: 2,
          client_data: { notes: "Stale edit" },
          server_data: expect.objectContaining({ name: "Stale", notes: "moved on elsewhere", version: 2 }),
          base_data: expect.objectContaining({ id: "mix-stale", version: 1, name: "Stale", notes: null }),
        }),
      ]);

      // The rows as another device pulls them.
      const rows = replay((await pullAll(b, { types: ["volunteer"], since: null })).changes);
      expect(rows.get("volunteer/mix-new")).toMatchObject({ version: 3, data: { name: "Newer", email: "new@example.org", phone: "+351 911 111 111" } });
      expect(rows.has("volunteer/mix-gone")).toBe(false);
      expect(rows.get("volunteer/mix-stale")).toMatchObject({ version: 2, data: { name: "Stale" } });
      expect(rows.get("volunteer/mix-old")).toMatchObject({ version: 2, data: { name: "Old", notes: "kept" } });
      expect(rows.has("volunteer/mix-bad")).toBe(false);

      // The conflict is listed; the ledger answers the batch again with its first answers, writing nothing.
      const listed = (await (await a.get("/sync/conflicts?status=pending")).json()) as ConflictListResponse;
      expect(listed.conflicts.map((c) => c.conflict_id)).toContain(res.results?.[4]?.conflict_id);
      const again = await push(a, batch);
      expect(again.results?.slice(0, 5)).toEqual(res.results?.slice(0, 5));
      expect(again.results?.[5]).toMatchObject({ status: "failed", error: { code: "VALIDATION_ERROR" } });
      expect(again.results?.[6]).toEqual(res.results?.[6]);
      expect(again.conflicts).toEqual(res.conflicts);
      const ledger = await server.app.context.database.rows<{ n: number }>(
        sql`select count(*)::int as n from processed_changes where device_id = ${a.deviceId} and change_id in (select jsonb_array_elements_text(${JSON.stringify(batch.map((c) => c.change_id))}::jsonb))`,
      );
      // Every change but the refused one is remembered.
      expect(ledger[0]?.n).toBe(6);
      const after = replay((await pullAll(b, { types: ["volunteer"], since: null })).changes);
      expect(after.get("volunteer/mix-new")?.version).toBe(3);
      expect(after.get("volunteer/mix-old")?.version).toBe(2);
    });

    it("answers a batch whose stale change carries a year-0 time with per-change results, keeping the rest", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("y0", { name: "Row" })]);
      await push(b, [update("y0", 1, { name: "Moved" })]);
      const res = await push(a, [create("y0-new", { name: "Fine" }), { ...update("y0", 1, { name: "Stale" }), modified_at: "0000-01-01T00:00:00Z" }]);
      // The contract brings the time into the range PostgreSQL stores; the conflict is recorded.
      expect(res.results?.map((r) => r.status)).toEqual(["applied", "conflict"]);
      expect(res.conflicts[0]).toMatchObject({ entity_id: "y0", client_data: { name: "Stale" } });
    });

    it("applies an atomic batch whole or not at all", async () => {
      const a = await createActor(server);
      const bad = await push(a, [create("at1", { name: "A" }), update("at-missing", 1, { name: "B" })], { atomic: true });
      expect(bad).toMatchObject({ applied: 0, failed: 2 });
      expect(bad.results?.map((r) => r.error?.code)).toEqual(["ATOMIC_BATCH_ABORTED", "ENTITY_NOT_FOUND"]);
      expect((await pullAll(a, { types: ["volunteer"] })).changes).toEqual([]);
      const good = await push(a, [create("at1", { name: "A" }), create("at2", { name: "B" })], { atomic: true });
      expect(good).toMatchObject({ applied: 2, failed: 0 });
    });

    it("reports a version mismatch to the second device and settles each resolution on one version for both", async () => {
      for (const mode of ["server_wins", "client_wins", "manual"] as const) {
        const a = await createActor(server);
        const b = await createActor(server, { orgId: a.orgId });
        const id = `shared-${mode}`;
        await push(a, [create(id, { name: "Original", notes: "n" })]);
        await pullAll(b);
        await push(a, [update(id, 1, { name: "From A" })]);
        // Both edit the name: an edit of another field would merge.
        const second = await push(b, [update(id, 1, { name: "From B" })]);
        expect(second.results?.[0]?.status).toBe("conflict");
        const conflict = second.conflicts[0];
        expect(conflict).toMatchObject({ conflict_type: "version_mismatch", client_version: 1, server_version: 2, entity_id: id });
        expect(conflict?.server_data).toMatchObject({ name: "From A" });
        expect(conflict?.base_data).toMatchObject({ name: "Original", notes: "n", version: 1 });

        const resolution =
          mode === "manual"
            ? { resolution: mode, merged_data: { name: "Merged", notes: "From B" } }
            : { resolution: mode };
        const resolved = await b.call<ResolveConflictResponse>(`/sync/conflicts/${conflict?.conflict_id}/resolve`, resolution);
        expect(resolved).toMatchObject({ conflict_id: conflict?.conflict_id, resolution: mode, entity_type: "volunteer", entity_id: id });
        expect(resolved.version).toBe(mode === "server_wins" ? 2 : 3);
        const again = await b.post(`/sync/conflicts/${conflict?.conflict_id}/resolve`, resolution);
        expect(again.status).toBe(409);
        expect(((await again.json()) as { code: string }).code).toBe("CONFLICT_ALREADY_RESOLVED");

        const seenByA = replay((await pullAll(a)).changes).get(`volunteer/${id}`);
        const seenByB = replay((await pullAll(b)).changes).get(`volunteer/${id}`);
        expect(seenByA).toEqual(seenByB);
        const expected = { server_wins: { name: "From A", notes: "n" }, client_wins: { name: "From B", notes: "n" }, manual: { name: "Merged", notes: "From B" } }[mode];
        expect(seenByA).toMatchObject({ version: resolved.version, data: expected });
      }
    });

    it("refuses a resolution once the row has moved (CONFLICT_STALE) and validates merged_data whole", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("stale", { name: "S" })]);
      await push(a, [update("stale", 1, { name: "S2" })]);
      const { conflicts } = await push(b, [update("stale", 1, { name: "S-b" })]);
      const path = `/sync/conflicts/${conflicts[0]?.conflict_id}/resolve`;
      const invalid = await b.post(path, { resolution: "manual", merged_data: { notes: "no name" } });
      expect(invalid.status).toBe(422);
      const proto = await b.post(path, '{"resolution":"manual","merged_data":{"name":"x","__proto__":{"admin":true}}}');
      expect(proto.status).toBe(422);
      await push(a, [update("stale", 2, { name: "S3" })]);
      const res = await b.post(path, { resolution: "client_wins" });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { code: string }).code).toBe("CONFLICT_STALE");
    });

    it("resolves a merge sent as merged_fields over a server row that breaks a rule tightened since", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("old-rule", { name: "Old", phone: "123" })]);
      // A value stored before `phone` had its pattern, as a migration leaves old rows.
      await server.app.context.database.rows(sql`update volunteers set phone = 'call me' where org_id = ${a.orgId} and id = 'old-rule' returning 1`);
      await push(a, [update("old-rule", 1, { name: "From A" })]);
      // B's edit overlaps A's (both touch name), so it is a conflict, not a merge.
      const { conflicts } = await push(b, [update("old-rule", 1, { name: "From B", notes: "From B" })]);
      const path = `/sync/conflicts/${conflicts[0]?.conflict_id}/resolve`;

      const whole = await b.post(path, { resolution: "manual", merged_data: { ...conflicts[0]?.server_data, notes: "From B" } });
      expect(whole.status).toBe(422);
      expect(JSON.stringify(await whole.json())).toContain("phone");
      const both = await b.post(path, { resolution: "manual", merged_data: { name: "x" }, merged_fields: { notes: "x" } });
      expect(both.status).toBe(422);
      const badField = await b.post(path, { resolution: "manual", merged_fields: { name: null } });
      expect(badField.status).toBe(422);

      const resolved = await b.call<ResolveConflictResponse>(path, { resolution: "manual", merged_fields: { notes: "From B" } });
      expect(resolved.version).toBe(3);
      const row = replay((await pullAll(a)).changes).get("volunteer/old-rule");
      expect(row).toMatchObject({ version: 3, data: { name: "From A", phone: "call me", notes: "From B" } });
    });

    it("names the field when a row kept from a looser rule meets its CHECK again, on push and on resolution", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("old-long", { name: "Old" }, "project")]);
      // As a migration that tightened the limit leaves it: the CHECK added NOT VALID over an older row.
      const { database } = server.app.context;
      await database.db.transaction(async (tx) => {
        await tx.execute(sql`alter table projects drop constraint projects_location_max_length`);
        await tx.execute(sql`update projects set location = ${"L".repeat(600)} where org_id = ${a.orgId} and id = 'old-long'`);
        await tx.execute(sql`alter table projects add constraint projects_location_max_length check (char_length("location") <= 500) not valid`);
      });
      const refused = await push(a, [update("old-long", 1, { name: "Renamed" }, "project"), create("fine", { name: "Fine" }, "project")]);
      expect(refused.results?.map((r) => r.status)).toEqual(["failed", "applied"]);
      expect(refused.results?.[0]?.error).toMatchObject({
        code: "VALIDATION_ERROR",
        detail: [expect.objectContaining({ loc: ["data", "location"], type: "check_violation" })],
      });
      // Atomic: nothing is kept, and the change whose value was refused says which field.
      const atomic = await push(a, [create("fine-2", { name: "Fine" }, "project"), update("old-long", 1, { name: "Renamed" }, "project")], { atomic: true });
      expect(atomic.results?.map((r) => r.error?.code)).toEqual(["ATOMIC_BATCH_ABORTED", "VALIDATION_ERROR"]);
      expect(atomic.results?.[0]?.error?.detail).toContain("change 1");
      expect(atomic.results?.[1]?.error).toMatchObject({ detail: [expect.objectContaining({ loc: ["data", "location"], type: "check_violation" })] });
      expect(await server.app.context.database.rows(sql`select 1 from projects where org_id = ${a.orgId} and id = 'fine-2'`)).toEqual([]);

      // A conflict records without writing the row; resolving it writes the row, so the rule applies.
      const { conflicts } = await push(b, [update("old-long", 7, { name: "From B" }, "project")]);
      const path = `/sync/conflicts/${conflicts[0]?.conflict_id}/resolve`;
      for (const resolution of [{ resolution: "client_wins" }, { resolution: "manual", merged_fields: { name: "Merged" } }]) {
        const res = await b.post(path, resolution);
        expect(res.status, resolution.resolution).toBe(422);
        expect(await res.json()).toMatchObject({ code: "VALIDATION_ERROR", detail: [expect.objectContaining({ loc: ["location"], type: "check_violation" })] });
      }
      const resolved = await b.call<ResolveConflictResponse>(path, { resolution: "manual", merged_fields: { name: "Merged", location: "Porto" } });
      expect(resolved.version).toBe(2);
    });

    it("refuses text breaking minLength or pattern, naming the field", async () => {
      const a = await createActor(server);
      const res = await push(a, [create("short", { name: "" }), create("letters", { name: "L", phone: "not a number" }), create("fine", { name: "F", phone: "+351 912 345 678" })]);
      expect(res.results?.map((r) => r.status)).toEqual(["failed", "failed", "applied"]);
      expect(res.results?.[0]?.error).toMatchObject({ code: "VALIDATION_ERROR", detail: [expect.objectContaining({ loc: ["data", "name"] })] });
      expect(res.results?.[1]?.error).toMatchObject({ code: "VALIDATION_ERROR", detail: [expect.objectContaining({ loc: ["data", "phone"] })] });
    });

    it("checks references within the organization, counting rows created earlier in the same batch", async () => {
      const a = await createActor(server);
      const other = await createActor(server);
      await push(other, [create("theirs", { name: "Another organization's" }, "project")]);
      const res = await push(a, [
        create("t-before", { title: "Before its project", project_id: "p-ref" }, "task"),
        create("p-ref", { name: "Project" }, "project"),
        create("t-after", { title: "After its project", project_id: "p-ref" }, "task"),
        create("t-foreign", { title: "Foreign", project_id: "theirs" }, "task"),
        create("t-nobody", { title: "Assigned to nobody", project_id: "p-ref", assignee_volunteer_id: "ghost" }, "task"),
      ]);
      expect(res.results?.map((r) => r.status)).toEqual(["failed", "applied", "applied", "failed", "failed"]);
      for (const [index, field] of [[0, "project_id"], [3, "project_id"], [4, "assignee_volunteer_id"]] as const) {
        expect(res.results?.[index]?.error).toMatchObject({
          code: "VALIDATION_ERROR",
          detail: [expect.objectContaining({ loc: ["data", field], type: "reference_missing" })],
        });
      }
      // An UPDATE is checked for the references it sets anew, and a deleted row is no longer there;
      // a reference the row already holds is not judged again (its row may have gone since).
      await push(a, [create("p-gone", { name: "Soon gone" }, "project")]);
      await push(a, [remove("p-gone", 1, "project")]);
      const moved = await push(a, [
        update("t-after", 1, { project_id: "p-gone" }, "task"),
        update("t-after", 1, { title: "Renamed", project_id: "p-ref" }, "task"),
      ]);
      expect(moved.results?.map((r) => r.status)).toEqual(["failed", "applied"]);
      await push(a, [remove("p-ref", 1, "project")]);
      expect((await push(a, [update("t-after", 2, { title: "Again", project_id: "p-ref" }, "task")])).results?.[0]?.status).toBe("applied");

      // A resolution that sets a reference anew is checked too.
      const b = await createActor(server, { orgId: a.orgId });
      const { conflicts } = await push(b, [update("t-after", 1, { title: "From B" }, "task")]);
      const dangling = await b.post(`/sync/conflicts/${conflicts[0]?.conflict_id}/resolve`, { resolution: "manual", merged_fields: { project_id: "ghost" } });
      expect(dangling.status).toBe(422);
      expect(await dangling.json()).toMatchObject({ detail: [expect.objectContaining({ loc: ["project_id"], type: "reference_missing" })] });
    });

    it("judges references only for a change that would write: a resent CREATE whose project went since is a replay", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("p-resent", { name: "Project" }, "project")]);
      const { change_id: _first, ...resent } = create("t-resent", { title: "Task", project_id: "p-resent" }, "task");
      expect((await push(a, [resent])).results?.[0]).toMatchObject({ status: "applied", version: 1 });
      await push(b, [remove("p-resent", 1, "project")]);
      // The answer was lost and the same CREATE comes again, without change_id: it already applied.
      expect((await push(a, [resent])).results?.[0]).toMatchObject({ status: "applied", version: 1 });
      // A different CREATE of that id is the conflict it always was, not a refusal.
      const other = { ...resent, data: { title: "Another", project_id: "p-resent" } };
      const clash = await push(a, [other]);
      expect(clash.results?.[0]?.status).toBe("conflict");
      expect(clash.conflicts[0]?.conflict_type).toBe("create_exists");
    });

    it("settles delete against edit both ways", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(a, [create("de1", { name: "One" }), create("de2", { name: "Two" })]);
      // A deletes, B edits the version it saw: update_on_deleted; client_wins brings the row back.
      await push(a, [remove("de1", 1)]);
      const edit = await push(b, [update("de1", 1, { name: "One edited" })]);
      expect(edit.conflicts[0]?.conflict_type).toBe("update_on_deleted");
      await b.call(`/sync/conflicts/${edit.conflicts[0]?.conflict_id}/resolve`, { resolution: "client_wins" });
      // A edits, B deletes the version it saw: delete_on_modified; client_wins deletes.
      await push(a, [update("de2", 1, { name: "Two edited" })]);
      const del = await push(b, [remove("de2", 1)]);
      expect(del.conflicts[0]?.conflict_type).toBe("delete_on_modified");
      await b.call(`/sync/conflicts/${del.conflicts[0]?.conflict_id}/resolve`, { resolution: "client_wins" });

      const rowsA = replay((await pullAll(a)).changes);
      const rowsB = replay((await pullAll(b)).changes);
      expect(rowsA).toEqual(rowsB);
      expect(rowsA.get("volunteer/de1")).toMatchObject({ version: 3, deleted: false, data: { name: "One edited" } });
      expect(rowsA.has("volunteer/de2")).toBe(false); // a full sync leaves tombstones out
      // Deleting a row that is already deleted is applied with the tombstone's version.
      const twice = await push(a, [remove("de2", 1)]);
      expect(twice.results?.[0]).toMatchObject({ status: "applied", version: 3 });
    });

    it("lists conflicts: members their own devices', admins the organization's", async () => {
      const admin = await createActor(server, { role: "admin" });
      const m1 = await createActor(server, { orgId: admin.orgId });
      const m2 = await createActor(server, { orgId: admin.orgId });
      await push(admin, [create("lc", { name: "L" })]);
      await push(admin, [update("lc", 1, { name: "L2" })]);
      await push(m1, [update("lc", 1, { name: "m1" })]);
      await push(m2, [update("lc", 1, { name: "m2" })]);
      const own = (await (await m1.get("/sync/conflicts")).json()) as ConflictListResponse;
      expect(own.conflicts.map((c) => c.device_id)).toEqual([m1.deviceId]);
      const all = (await (await admin.get("/sync/conflicts")).json()) as ConflictListResponse;
      expect(all).toMatchObject({ total: 2, unresolved: 2 });
      const filtered = (await (await admin.get(`/sync/conflicts?device_id=${m2.deviceId}`)).json()) as ConflictListResponse;
      expect(filtered.conflicts.map((c) => c.device_id)).toEqual([m2.deviceId]);
      const foreignResolve = await m2.post(`/sync/conflicts/${own.conflicts[0]?.conflict_id}/resolve`, { resolution: "server_wins" });
      expect(foreignResolve.status).toBe(404);
      await admin.call(`/sync/conflicts/${own.conflicts[0]?.conflict_id}/resolve`, { resolution: "server_wins" });
      const after = (await (await admin.get("/sync/conflicts?unresolved_only=false")).json()) as ConflictListResponse;
      expect(after).toMatchObject({ total: 2, unresolved: 1 });
    });

    it("keeps organizations apart: another cannot see, change, delete or resolve anything of ours", async () => {
      const ours = await createActor(server);
      const peer = await createActor(server, { orgId: ours.orgId });
      const theirs = await createActor(server);
      await push(ours, [create("secret", { name: "Ours" })]);
      await push(ours, [update("secret", 1, { name: "Ours 2" })]);
      const { conflicts } = await push(peer, [update("secret", 1, { name: "peer" })]);

      expect((await pullAll(theirs)).changes).toEqual([]);
      const attack = await push(theirs, [update("secret", 2, { name: "Pwned" }), remove("secret", 2)]);
      expect(attack.results?.map((r) => r.error?.code)).toEqual(["ENTITY_NOT_FOUND", "ENTITY_NOT_FOUND"]);
      const listed = (await (await theirs.get("/sync/conflicts?unresolved_only=false")).json()) as ConflictListResponse;
      expect(listed.total).toBe(0);
      const resolve = await theirs.post(`/sync/conflicts/${conflicts[0]?.conflict_id}/resolve`, { resolution: "client_wins" });
      expect(resolve.status).toBe(404);
      const status = await theirs.get(`/sync/status?device_id=${ours.deviceId}`);
      expect(status.status).toBe(404);
      const wrongDevice = await theirs.post("/sync/pull", { device_id: ours.deviceId, entity_types: ["volunteer"] });
      expect(wrongDevice.status).toBe(403);
      // The same id in their organization is their own row.
      const own = await push(theirs, [create("secret", { name: "Theirs" })]);
      expect(own.results?.[0]).toMatchObject({ status: "applied", version: 1 });
      const mine = replay((await pullAll(ours)).changes).get("volunteer/secret");
      expect(mine).toMatchObject({ version: 2, data: { name: "Ours 2" } });
    });

    it("answers every bad input with a 4xx, never a 5xx", async () => {
      const a = await createActor(server);
      const deep = JSON.stringify({ device_id: a.deviceId, changes: [create("d", { name: "x", notes: JSON.parse("[".repeat(40) + "]".repeat(40)) as unknown })] });
      const bodies: (string | Record<string, unknown>)[] = [
        "{",
        "",
        "null",
        "[]",
        deep,
        { device_id: a.deviceId, changes: "nope" },
        { device_id: a.deviceId, changes: [{ ...create("x", { name: "x" }), operation: "UPSERT" }] },
        { changes: [] },
        { device_id: a.deviceId, changes: Array.from({ length: 1001 }, (_, i) => create(`many${i}`, { name: "m" })) },
        '{"device_id":"' + a.deviceId + '","changes":[{"entity_type":"volunteer","entity_id":"p","operation":"CREATE","version":0,"data":{"name":"x","__proto__":{"polluted":true}}}]}',
        { device_id: a.deviceId, changes: [{ ...create("x", { name: "x" }), version: -1 }] },
        { device_id: a.deviceId, changes: [{ ...create("x", { name: "x" }), data: [] }] },
        { device_id: a.deviceId, changes: [{ ...create("x", { name: "x" }), change_id: "not-a-uuid" }] },
        { device_id: "nul\u0000", changes: [] },
        { device_id: a.deviceId, changes: [{ ...create("x", { name: "x" }), entity_id: "nul\u0000" }] },
      ];
      for (const body of bodies) {
        const res = await a.post("/sync/push", body);
        expect(res.status, JSON.stringify(body).slice(0, 120)).toBeLessThan(500);
        await res.body?.cancel();
      }
      for (const path of ["/sync/status?device_id=%00", "/sync/status", "/sync/conflicts?limit=-1", "/sync/conflicts?unresolved_only=maybe", "/sync/conflicts?device_id=%00"]) {
        const res = await a.get(path);
        expect(res.status, path).toBeGreaterThanOrEqual(400);
        expect(res.status, path).toBeLessThan(500);
      }
      for (const id of ["not-a-uuid", "%00", randomUUID()]) {
        const res = await a.post(`/sync/conflicts/${id}/resolve`, { resolution: "server_wins" });
        expect(res.status).toBe(404);
      }
      const polluted = ({} as Record<string, unknown>)["polluted"];
      expect(polluted).toBeUndefined();
      // A version no row can reach fails that change alone, even where it would be a conflict.
      await push(a, [create("vmax", { name: "x" })]);
      const hugeVersions = await push(a, [update("vmax", 3_000_000_000, { name: "y" }), remove("vmax", 2 ** 40), update("vmax", 1, { name: "z" })]);
      expect(hugeVersions.results?.map((r) => [r.status, r.error?.code])).toEqual([
        ["failed", "VALIDATION_ERROR"],
        ["failed", "VALIDATION_ERROR"],
        ["applied", undefined],
      ]);
      const noAuth = await server.fetch("/sync/pull", { method: "POST", body: "{}" });
      expect(noAuth.status).toBe(401);
      const huge = JSON.stringify({ device_id: a.deviceId, changes: [create("big", { name: "x", notes: "y".repeat(2 * 1024 * 1024) })] });
      expect(await statusOnOwnConnection(`${server.url}/sync/push`, a.headers, huge)).toBe(413);
    });

    it("says a device needs sync exactly when it is behind, never synced, or has open conflicts", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      const status = async () => {
        await b.settle();
        return (await (await b.get(`/sync/status?device_id=${b.deviceId}`)).json()) as SyncStatusResponse;
      };
      expect((await status()).needs_sync).toBe(true); // never synced
      await pullAll(b);
      const synced = await status();
      expect(synced).toMatchObject({ needs_sync: false, pending_conflicts: 0, device: { device_id: b.deviceId, is_active: true } });
      expect(synced.sync_states.map((s) => s.entity_type)).toEqual([...ALL].sort());
      await push(a, [create("ns", { name: "N" })]);
      expect((await status()).needs_sync).toBe(true); // behind
      await pullAll(b, { since: (await pullAll(b)).token });
      expect((await status()).needs_sync).toBe(false);
      await push(a, [update("ns", 1, { name: "N2" })]);
      const { conflicts } = await push(b, [update("ns", 1, { name: "Nb" })]);
      await pullAll(b);
      expect(await status()).toMatchObject({ needs_sync: true, pending_conflicts: 1 }); // open conflict
      await b.call(`/sync/conflicts/${conflicts[0]?.conflict_id}/resolve`, { resolution: "server_wins" });
      expect((await status()).needs_sync).toBe(false);
    });

    it("writes the device's state for a pull that hands out changes, not for each empty poll after it", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      await push(b, [create("poll-1", { name: "One" })]);
      const { token } = await pullAll(a, { types: ["volunteer"] });
      const stateVersion = async () =>
        (
          await server.app.context.database.rows<{ v: string }>(
            sql`select string_agg(xmin::text, ',' order by entity_type) as v from device_sync_state where device_id = ${a.deviceId}`,
          )
        )[0]?.v;
      const before = await stateVersion();
      let since = token;
      for (let i = 0; i < 5; i++) {
        const page = await a.call<PullResponse>("/sync/pull", { device_id: a.deviceId, entity_types: ["volunteer"], since, limit: 100 });
        expect(page.changes).toEqual([]);
        since = page.sync_token;
      }
      expect(await stateVersion()).toBe(before);
      await push(b, [create("poll-2", { name: "Two" })]);
      const { changes } = await pullAll(a, { types: ["volunteer"], since });
      expect(changes.map((c) => c.entity_id)).toEqual(["poll-2"]);
      expect(await stateVersion()).not.toBe(before);
    });

    it("answers push with the device's pull position, which skips nothing", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      const { token } = await pullAll(b);
      await push(a, [create("pos1", { name: "From A" })]);
      const pushed = await push(b, [create("pos2", { name: "From B" })]);
      const next = await pullAll(b, { since: pushed.sync_token });
      expect(next.changes.map((c) => c.entity_id).sort()).toEqual(["pos1", "pos2"]);
      const fromPull = await pullAll(b, { since: token });
      expect(fromPull.changes.map((c) => c.entity_id).sort()).toEqual(["pos1", "pos2"]);
    });

    it("audits each completed sync with its counts", async () => {
      const a = await createActor(server);
      await push(a, [create("au1", { name: "A" }), create("au2", { name: "B" })]);
      await pullAll(a, { limit: 1 });
      const rows = await server.app.context.database.rows<{ details: Record<string, unknown> }>(
        sql`select details from audit_log where device_id = ${a.deviceId} and event_type = 'SYNC_COMPLETED' order by id`,
      );
      expect(rows.map((r) => r.details)).toEqual([
        { direction: "push", changes_pulled: 0, changes_pushed: 2, conflicts: 0 },
        { direction: "pull", changes_pulled: 2, changes_pushed: 0, conflicts: 0 },
      ]);
    });

    it("purges tombstones past the retention, and nothing younger", async () => {
      const a = await createActor(server);
      await push(a, [create("old-tomb", { name: "O" }), create("new-tomb", { name: "N" })]);
      await push(a, [remove("old-tomb", 1), remove("new-tomb", 1)]);
      const { database } = server.app.context;
      await database.rows(sql`update volunteers set deleted_at = now() - interval '200 days' where org_id = ${a.orgId} and id = 'old-tomb' returning 1`);
      const report = await purgeTombstones(server.app.context);
      expect(report.tombstones["volunteer"]).toBeGreaterThanOrEqual(1);
      const left = await database.rows<{ id: string }>(sql`select id from volunteers where org_id = ${a.orgId} order by id`);
      expect(left.map((r) => r.id)).toEqual(["new-tomb"]);
    });

    it("pokes the organization's event streams when a push commits", async () => {
      const a = await createActor(server);
      const b = await createActor(server, { orgId: a.orgId });
      const other = await createActor(server);
      const read = async (actor: SyncActor) => {
        const res = await actor.get("/sync/events");
        expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
        const reader = res.body?.getReader();
        if (!reader) throw new Error("no stream");
        let text = "";
        const decoder = new TextDecoder();
        const until = async (pattern: RegExp) => {
          while (!pattern.test(text)) {
            const { value, done } = await reader.read();
            if (done) throw new Error("stream ended");
            text += decoder.decode(value);
          }
        };
        await until(/event: ready/);
        return { until, text: () => text, close: () => reader.cancel() };
      };
      const stream = await read(b);
      const otherStream = await read(other);
      await push(a, [create("poke", { name: "P" })]);
      await stream.until(/event: poke/);
      expect(stream.text()).toContain('data: {"entity_types":["volunteer"]}');
      await push(other, [create("poke", { name: "Q" }, "project")]);
      await otherStream.until(/event: poke/);
      expect(stream.text()).not.toContain("project");
      await stream.close();
      await otherStream.close();
    });

    it("exposes counters at /metrics", async () => {
      const res = await server.fetch("/metrics");
      expect(res.headers.get("content-type")).toMatch(/text\/plain/);
      const text = await res.text();
      expect(text).toMatch(/^repensar_sync_pulls_total [1-9]\d*$/m);
      expect(text).toMatch(/^repensar_sync_changes_applied_total [1-9]\d*$/m);
      expect(text).toMatch(/^repensar_sync_changes_conflict_total [1-9]\d*$/m);
    });
  });
}
