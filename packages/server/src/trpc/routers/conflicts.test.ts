import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, pullAll, push, update } from "../../sync/sync-suite";
import { consoleCaller, createActor, type SyncActor } from "../../sync/testing";
import { startTestServer, type TestServer } from "../../testing/harness";

describe("console routers over the sync services", () => {
  let server: TestServer;
  let admin: SyncActor;
  let member: SyncActor;
  let outsider: SyncActor;
  const caller = (actor: SyncActor) => consoleCaller(server, actor);

  beforeAll(async () => {
    server = await startTestServer();
    admin = await createActor(server, { role: "admin" });
    member = await createActor(server, { orgId: admin.orgId });
    outsider = await createActor(server, { role: "admin" });
    await push(admin, [create("x", { name: "X" })]);
    await push(admin, [update("x", 1, { name: "X admin" })]);
    // The same field as the admin's edit: disjoint edits would merge.
    await push(member, [update("x", 1, { name: "X member" })]);
  });
  afterAll(async () => {
    await server.close();
  });

  it("lists the organization's conflicts for an admin and resolves one as a new version", async () => {
    const list = await caller(admin).conflicts.list({ entityType: "volunteer" });
    expect(list).toMatchObject({ total: 1, unresolved: 1 });
    const id = list.conflicts[0]?.conflict_id ?? "";
    expect(await caller(admin).conflicts.get({ conflictId: id })).toEqual(list.conflicts[0]);
    expect(await caller(member).conflicts.get({ conflictId: id })).toMatchObject({ conflict_id: id, conflict_type: "version_mismatch" });
    await expect(caller(outsider).conflicts.get({ conflictId: id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(caller(admin).conflicts.get({ conflictId: "not-a-uuid" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await caller(outsider).conflicts.list()).toMatchObject({ total: 0 });
    await expect(caller(outsider).conflicts.resolve({ conflictId: id, resolution: "server_wins" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(caller(admin).conflicts.resolve({ conflictId: id, resolution: "manual", mergedData: { notes: "no name" } })).rejects.toMatchObject({
      code: "UNPROCESSABLE_CONTENT",
    });
    const resolved = await caller(admin).conflicts.resolve({ conflictId: id, resolution: "manual", mergedData: { name: "X merged", notes: "member" } });
    expect(resolved).toMatchObject({ version: 3, resolution: "manual" });
    await expect(caller(member).conflicts.resolve({ conflictId: id, resolution: "client_wins" })).rejects.toMatchObject({ code: "CONFLICT" });
    const row = (await pullAll(member)).changes.find((c) => c.entity_id === "x");
    expect(row).toMatchObject({ version: 3, data: { name: "X merged", notes: "member" }, modified_by_device_id: null });
  });

  it("serves sync status, activity, the audit log and entity browsing", async () => {
    const statuses = await caller(admin).sync.statuses();
    expect(statuses.map((s) => s.device.device_id).sort()).toEqual([admin.deviceId, member.deviceId].sort());
    expect((await caller(member).sync.status({ deviceId: member.deviceId })).device.device_id).toBe(member.deviceId);
    await expect(caller(member).sync.status({ deviceId: admin.deviceId })).rejects.toMatchObject({ code: "NOT_FOUND" });
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const activity = await caller(admin).sync.activity({ bucket: "hour", from, to });
    expect(activity.reduce((n, p) => n + p.pushes, 0)).toBeGreaterThanOrEqual(3);
    const audit = await caller(admin).audit.list({ event_type: "CONFLICT_RESOLVED" });
    expect(audit.total).toBe(1);
    const rows = await caller(admin).entities.browse({ entity_type: "volunteer" });
    expect(rows.rows.map((r) => r.entity_id)).toEqual(["x"]);
    expect((await caller(outsider).entities.browse({ entity_type: "volunteer" })).total).toBe(0);
  });
});
