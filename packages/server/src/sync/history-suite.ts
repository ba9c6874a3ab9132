import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../testing/harness";
import { create, pullAll, push, remove, update } from "./sync-suite";
import { consoleCaller, createActor, type SyncActor } from "./testing";
import { purgeTombstones } from "./tombstones";

/** Row history and restore; run on PGlite (history.test.ts) and PostgreSQL (history.pg.test.ts). */
export function historySuite(name: string): void {
  describe(`row history on ${name}`, () => {
    let server: TestServer;
    let admin: SyncActor;
    let member: SyncActor;
    const caller = (actor: SyncActor) => consoleCaller(server, actor);

    beforeAll(async () => {
      server = await startTestServer();
      admin = await createActor(server, { role: "admin" });
      member = await createActor(server, { orgId: admin.orgId });
    });
    afterAll(async () => {
      await server.close();
    });

    it("lists every version of a row with the fields it changed, who wrote it and from which device", async () => {
      await push(admin, [create("h1", { name: "Ana", email: "ana@example.org" }), update("h1", 1, { phone: "555" })]);
      await push(member, [update("h1", 2, { phone: "556", notes: "prefers mornings" })]);
      await push(admin, [remove("h1", 3)]);

      const { versions, total, current_version } = await caller(member).entities.history({ entity_type: "volunteer", entity_id: "h1" });
      expect(total).toBe(4);
      expect(current_version).toBe(4);
      expect(versions.map((v) => [v.version, v.operation, v.changed_fields, v.device_id, v.user_id])).toEqual([
        [4, "DELETE", [], admin.deviceId, admin.userId],
        [3, "UPDATE", ["phone", "notes"], member.deviceId, member.userId],
        [2, "UPDATE", ["phone"], admin.deviceId, admin.userId],
        [1, "CREATE", ["name", "email"], admin.deviceId, admin.userId],
      ]);
      expect(versions[1]).toMatchObject({ data: { name: "Ana", phone: "556", notes: "prefers mornings" }, deleted: false, user_name: "User", device_name: "Test device" });
      expect(versions[0]).toMatchObject({ deleted: true, data: { phone: "556" } });
      for (const v of versions) expect(v.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

      // Another organization sees nothing of it.
      const outsider = await createActor(server, { role: "admin" });
      expect(await caller(outsider).entities.history({ entity_type: "volunteer", entity_id: "h1" })).toMatchObject({ total: 0, versions: [], current_version: null });
    });

    it("restores a version as a new version that a pull delivers, audited, and admins only", async () => {
      await push(admin, [create("h2", { name: "Rui", phone: "111" })]);
      await push(admin, [update("h2", 1, { name: "Rui Costa", phone: "222" })]);
      const { token } = await pullAll(member, { types: ["volunteer"] });

      await expect(caller(member).entities.restore({ entity_type: "volunteer", entity_id: "h2", version: 1 })).rejects.toMatchObject({ code: "FORBIDDEN" });
      await expect(caller(admin).entities.restore({ entity_type: "volunteer", entity_id: "h2", version: 9 })).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(caller(admin).entities.restore({ entity_type: "volunteer", entity_id: "nope", version: 1 })).rejects.toMatchObject({ code: "NOT_FOUND" });

      expect(await caller(admin).entities.restore({ entity_type: "volunteer", entity_id: "h2", version: 1 })).toEqual({ version: 3, restored_from: 1 });
      const { changes } = await pullAll(member, { types: ["volunteer"], since: token });
      expect(changes.map((c) => [c.entity_id, c.version, c.data["name"], c.data["phone"]])).toEqual([["h2", 3, "Rui", "111"]]);

      const { versions } = await caller(admin).entities.history({ entity_type: "volunteer", entity_id: "h2" });
      expect(versions[0]).toMatchObject({ version: 3, operation: "UPDATE", changed_fields: ["name", "phone"], user_id: admin.userId, device_id: null });
      const audit = await caller(admin).audit.list({ event_type: "ENTITY_RESTORED" });
      expect(audit.entries[0]?.details).toEqual({ entity_type: "volunteer", entity_id: "h2", restored_from: 1, version: 3 });

      // A version that today's definition no longer accepts is refused, naming the field, and nothing is written.
      await server.app.context.database.rows(
        sql`update entity_history set data = data || '{"status": "retired"}'::jsonb where org_id = ${admin.orgId} and entity_id = 'h2' and version = 2 returning 1`,
      );
      await expect(caller(admin).entities.restore({ entity_type: "volunteer", entity_id: "h2", version: 2 })).rejects.toMatchObject({ code: "UNPROCESSABLE_CONTENT" });
      expect((await caller(admin).entities.history({ entity_type: "volunteer", entity_id: "h2" })).current_version).toBe(3);

      // Restoring a tombstone's version deletes the row again; a live version brings it back.
      await push(admin, [remove("h2", 3)]);
      expect(await caller(admin).entities.restore({ entity_type: "volunteer", entity_id: "h2", version: 3 })).toEqual({ version: 5, restored_from: 3 });
      const back = (await pullAll(member, { types: ["volunteer"], since: token })).changes.find((c) => c.entity_id === "h2");
      expect(back).toMatchObject({ operation: "UPDATE", version: 5, data: { name: "Rui", phone: "111" } });
    });

    it("refuses to restore a version that names a row deleted since, writing nothing", async () => {
      await push(admin, [create("hp1", { name: "First" }, "project"), create("hp2", { name: "Second" }, "project"), create("ht", { title: "Task", project_id: "hp1" }, "task")]);
      await push(admin, [update("ht", 1, { project_id: "hp2" }, "task"), remove("hp1", 1, "project")]);
      const refused: unknown = await caller(admin).entities.restore({ entity_type: "task", entity_id: "ht", version: 1 }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: "UNPROCESSABLE_CONTENT" });
      expect(JSON.stringify((refused as { cause?: unknown }).cause)).toContain("reference_missing");
      const { versions, current_version } = await caller(admin).entities.history({ entity_type: "task", entity_id: "ht" });
      expect([current_version, versions.length]).toEqual([2, 2]);
    });

    it("records a conflict's resolution as a version", async () => {
      await push(admin, [create("h3", { name: "Eva" })]);
      await push(admin, [update("h3", 1, { name: "Eva A" })]);
      const conflicted = await push(member, [update("h3", 1, { name: "Eva B" })]);
      const id = conflicted.results?.[0]?.conflict_id ?? "";
      await caller(admin).conflicts.resolve({ conflictId: id, resolution: "client_wins" });
      const { versions } = await caller(admin).entities.history({ entity_type: "volunteer", entity_id: "h3" });
      expect(versions.map((v) => [v.version, v.changed_fields, v.data["name"]])).toEqual([
        [3, ["name"], "Eva B"],
        [2, ["name"], "Eva A"],
        [1, ["name"], "Eva"],
      ]);
    });

    it("counts merges beside conflicts: the organization's for an admin, a member's own devices' for a member", async () => {
      const org = await createActor(server, { role: "admin" });
      const other = await createActor(server, { orgId: org.orgId });
      const from = new Date(Date.now() - 60_000).toISOString();
      await push(org, [create("c1", { name: "C" })]);
      await push(org, [update("c1", 1, { phone: "1" })]);
      expect((await push(other, [update("c1", 1, { notes: "merged" })])).results?.[0]?.merged).toBe(true);
      expect((await push(other, [update("c1", 1, { phone: "2" })])).results?.[0]?.status).toBe("conflict");
      const to = new Date(Date.now() + 60_000).toISOString();
      expect(await caller(org).conflicts.mergeCounts({ from, to })).toEqual({ merged: 1, conflicts: 1 });
      expect(await caller(other).conflicts.mergeCounts({ from, to })).toEqual({ merged: 1, conflicts: 1 });
      const third = await createActor(server, { orgId: org.orgId });
      expect(await caller(third).conflicts.mergeCounts({ from, to })).toEqual({ merged: 0, conflicts: 0 });
      expect(await caller(org).conflicts.mergeCounts({ from: to, to })).toEqual({ merged: 0, conflicts: 0 });
    });

    it("purges versions superseded longer ago than the retention, and a purged row's versions", async () => {
      const { database } = server.app.context;
      await push(admin, [create("old", { name: "Old" })]);
      await push(admin, [update("old", 1, { name: "Old 2" })]);
      await push(admin, [create("gone", { name: "Gone" })]);
      await push(admin, [remove("gone", 1)]);
      await database.rows(sql`update entity_history set created_at = now() - interval '400 days' where entity_id in ('old', 'gone') returning 1`);
      await database.rows(sql`update volunteers set deleted_at = now() - interval '400 days' where id = 'gone' returning 1`);
      const report = await purgeTombstones(server.app.context);
      expect(report.history).toBe(3);
      const left = await database.rows<{ entity_id: string; version: number }>(
        sql`select entity_id, version from entity_history where entity_id in ('old', 'gone') order by entity_id, version`,
      );
      // The current version of a live row stays: a device may have it as the base of its next edit.
      expect(left).toEqual([{ entity_id: "old", version: 2 }]);

      // A tombstone whose versions are younger than its deletion (a restored tombstone keeps its first
      // deletion time) takes them with it, so the id made again starts a history of its own.
      await push(admin, [create("again", { name: "First life" })]);
      await push(admin, [remove("again", 1)]);
      await database.rows(sql`update volunteers set deleted_at = now() - interval '400 days' where id = 'again' returning 1`);
      expect((await purgeTombstones(server.app.context)).history).toBe(2);
      await push(admin, [create("again", { name: "Second life" })]);
      const { versions } = await caller(admin).entities.history({ entity_type: "volunteer", entity_id: "again" });
      expect(versions.map((v) => [v.version, v.data["name"]])).toEqual([[1, "Second life"]]);
    });
  });
}
