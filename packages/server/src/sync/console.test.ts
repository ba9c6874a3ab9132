import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../auth/principal";
import { startTestServer, type TestServer } from "../testing/harness";
import { browseEntities, deviceSyncStatuses, queryAuditLog, syncActivity } from "./console";
import { create, pullAll, push, remove } from "./sync-suite";
import { createActor, type SyncActor } from "./testing";

const principalOf = (actor: SyncActor): Principal => ({
  userId: actor.userId,
  orgId: actor.orgId,
  role: actor.role,
  deviceId: null,
  tokenId: "console",
  expiresAt: new Date(Date.now() + 60_000),
});

describe("console reads over the sync tables", () => {
  let server: TestServer;
  let admin: SyncActor;
  let member: SyncActor;
  let stranger: SyncActor;
  beforeAll(async () => {
    server = await startTestServer();
    admin = await createActor(server, { role: "admin" });
    member = await createActor(server, { orgId: admin.orgId });
    stranger = await createActor(server, { role: "admin" });
    await push(admin, [create("c1", { name: "Ana" }), create("c2", { name: "Rui" }), create("c3", { name: "Eva" })]);
    await push(member, [remove("c2", 1)]);
    await pullAll(member);
    await push(stranger, [create("s1", { name: "Not yours" })]);
  });
  afterAll(async () => {
    await server.close();
  });

  it("pages the audit log: admins the organization's, members their own", async () => {
    const ctx = server.app.context;
    const all = await queryAuditLog(ctx, principalOf(admin), { event_type: "SYNC_COMPLETED" });
    expect(all.total).toBe(3);
    expect(new Set(all.entries.map((e) => e.device_id))).toEqual(new Set([admin.deviceId, member.deviceId]));
    const page = await queryAuditLog(ctx, principalOf(admin), { event_type: "SYNC_COMPLETED", limit: 1, offset: 1 });
    expect(page).toMatchObject({ total: 3, entries: [expect.objectContaining({ event_type: "SYNC_COMPLETED" })] });
    const own = await queryAuditLog(ctx, principalOf(member), {});
    expect(own.entries.every((e) => e.user_id === member.userId)).toBe(true);
    expect(own.total).toBe(2);
    const future = await queryAuditLog(ctx, principalOf(admin), { from: new Date(Date.now() + 3_600_000).toISOString() });
    expect(future.total).toBe(0);
  });

  it("counts pushes, pulls and changes per day for charts", async () => {
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const to = new Date(Date.now() + 86_400_000).toISOString();
    const points = await syncActivity(server.app.context, principalOf(admin), { bucket: "day", from, to });
    const sum = (k: "pulls" | "pushes" | "changes_pushed" | "changes_pulled") => points.reduce((n, p) => n + p[k], 0);
    expect(sum("pushes")).toBe(2);
    expect(sum("pulls")).toBe(1);
    expect(sum("changes_pushed")).toBe(4);
    expect(sum("changes_pulled")).toBe(2);
    expect(points[0]?.bucket).toMatch(/T00:00:00\.000Z$/);
    const hourly = await syncActivity(server.app.context, principalOf(stranger), { bucket: "hour", from, to });
    expect(hourly.reduce((n, p) => n + p.changes_pushed, 0)).toBe(1);
  });

  it("browses one type's rows, tombstones on request, never another organization's", async () => {
    const ctx = server.app.context;
    const live = await browseEntities(ctx, principalOf(admin), { entity_type: "volunteer" });
    expect(live.rows.map((r) => r.entity_id).sort()).toEqual(["c1", "c3"]);
    const withDeleted = await browseEntities(ctx, principalOf(admin), { entity_type: "volunteer", include_deleted: true });
    expect(withDeleted.total).toBe(3);
    expect(withDeleted.rows.find((r) => r.entity_id === "c2")?.deleted_at).toMatch(/Z$/);
    const found = await browseEntities(ctx, principalOf(admin), { entity_type: "volunteer", search: "eva" });
    expect(found.rows.map((r) => r.data["name"])).toEqual(["Eva"]);
    const none = await browseEntities(ctx, principalOf(admin), { entity_type: "volunteer", search: "Not yours" });
    expect(none.total).toBe(0);
  });

  it("reports every visible device's sync status", async () => {
    const ctx = server.app.context;
    const forAdmin = await deviceSyncStatuses(ctx, principalOf(admin));
    expect(forAdmin.map((s) => s.device.device_id).sort()).toEqual([admin.deviceId, member.deviceId].sort());
    const forMember = await deviceSyncStatuses(ctx, principalOf(member));
    expect(forMember).toEqual([expect.objectContaining({ needs_sync: false, device: expect.objectContaining({ device_id: member.deviceId }) })]);
  });
});
