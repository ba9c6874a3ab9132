import { entityDefinitions, entityTypes, FieldKind, validateEntityData, type EntityType, type FieldDefinition } from "@repensar/contracts";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { isUuidV7 } from "../id";
import type { EntityData, LocalStore, LocalWriter, PendingChange, ServerChange, ServerState } from "../local-store";

/**
 * The behaviour every LocalStore must have, run against each implementation
 * (`sqlite.test.ts`, `memory.test.ts`).
 */
export function localStoreSuite(name: string, makeStore: () => LocalStore | Promise<LocalStore>): void {
  describe(`LocalStore: ${name}`, () => {
    const opened: LocalStore[] = [];
    async function fresh(): Promise<LocalStore> {
      const store = await makeStore();
      opened.push(store);
      return store;
    }
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    describe("local writes", () => {
      it("creates a row with a UUIDv7 id and queues its CREATE", async () => {
        const store = await fresh();
        const row = await store.create("volunteer", { name: "Ana", skills: ["first aid", "driving"] });
        expect(isUuidV7(row.id)).toBe(true);
        expect(row).toMatchObject({ type: "volunteer", version: 0, pending: true, deleted_at: null });
        expect(row.data).toEqual(volunteer({ name: "Ana", skills: ["first aid", "driving"] }));
        expect(await store.get("volunteer", row.id)).toEqual(row);
        expect(await store.list("volunteer")).toEqual([row]);
        const [change, ...rest] = await store.pendingChanges();
        expect(rest).toEqual([]);
        expect(change).toMatchObject({ entity_type: "volunteer", entity_id: row.id, operation: "CREATE", version: 0, sent_at: null });
        expect(change?.data).toEqual(row.data);
      });

      it("keeps the id the app chose, and refuses it twice", async () => {
        const store = await fresh();
        const row = await store.create("project", { id: "p-1", name: "Garden" });
        expect(row.id).toBe("p-1");
        await expect(store.create("project", { id: "p-1", name: "Other" })).rejects.toMatchObject({ code: "ENTITY_EXISTS" });
        expect(await store.pendingCount()).toBe(1);
      });

      it("round-trips every field of every entity type the definitions name", async () => {
        const store = await fresh();
        for (const type of entityTypes) {
          const data = sampleRow(type);
          const row = await store.create(type, data);
          expect((await store.get(type, row.id))?.data, type).toEqual(data);
          // Optional fields left out come back as null.
          const fields: Readonly<Record<string, FieldDefinition>> = entityDefinitions[type].fields;
          const required = Object.fromEntries(Object.entries(data).filter(([name]) => fields[name]?.required));
          const sparse = await store.create(type, required);
          expect((await store.get(type, sparse.id))?.data, type).toEqual(Object.fromEntries(Object.keys(fields).map((name) => [name, required[name] ?? null])));
        }
      });

      it("refuses invalid data, naming the field, and writes nothing", async () => {
        const store = await fresh();
        await expect(store.create("volunteer", { email: "a@b.co" })).rejects.toMatchObject({
          code: "VALIDATION_ERROR",
          issues: [expect.objectContaining({ loc: ["name"] })],
        });
        await expect(store.create("volunteer", { name: "A", shoe_size: 42 })).rejects.toMatchObject({
          code: "VALIDATION_ERROR",
          issues: [expect.objectContaining({ loc: ["shoe_size"], type: "unknown_field" })],
        });
        // Every text rule of the definitions: minLength and pattern as much as maxLength and values.
        await expect(store.create("volunteer", { name: "" })).rejects.toMatchObject({ issues: [expect.objectContaining({ loc: ["name"], type: "too_small" })] });
        await expect(store.create("volunteer", { name: "A", phone: "call me" })).rejects.toMatchObject({
          issues: [expect.objectContaining({ loc: ["phone"], type: "invalid_format" })],
        });
        const row = await store.create("time_entry", { volunteer_id: "v", date: "2025-01-01", hours: 1 });
        await expect(store.update("time_entry", row.id, { hours: 30 })).rejects.toMatchObject({ code: "VALIDATION_ERROR" });
        expect((await store.get("time_entry", row.id))?.data.hours).toBe(1);
        expect(await store.list("volunteer")).toEqual([]);
        expect(await store.pendingCount()).toBe(1);
      });

      it("refuses to change or delete a row that does not exist or is deleted", async () => {
        const store = await fresh();
        await expect(store.update("volunteer", "nope", { name: "X" })).rejects.toMatchObject({ code: "ENTITY_NOT_FOUND" });
        await expect(store.delete("volunteer", "nope")).rejects.toMatchObject({ code: "ENTITY_NOT_FOUND" });
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.delete("volunteer", "v1");
        await expect(store.update("volunteer", "v1", { name: "X" })).rejects.toMatchObject({ code: "ENTITY_NOT_FOUND" });
        await expect(store.delete("volunteer", "v1")).rejects.toMatchObject({ code: "ENTITY_NOT_FOUND" });
      });

      it("refuses unknown entity types", async () => {
        const store = await fresh();
        // @ts-expect-error: the type system already refuses it; apps in plain JS do not have one
        await expect(store.list("spaceship")).rejects.toMatchObject({ code: "UNKNOWN_ENTITY_TYPE" });
      });
    });

    describe("outbox coalescing", () => {
      it("CREATE + UPDATE -> one CREATE with the latest fields, under the first change id", async () => {
        const store = await fresh();
        const row = await store.create("volunteer", { name: "Ana" });
        const [created] = await store.pendingChanges();
        await store.update("volunteer", row.id, { phone: "123" });
        await store.update("volunteer", row.id, { name: "Ana B" });
        const changes = await store.pendingChanges();
        expect(changes).toHaveLength(1);
        expect(changes[0]).toMatchObject({ operation: "CREATE", change_id: created?.change_id, version: 0 });
        expect(changes[0]?.data).toEqual(volunteer({ name: "Ana B", phone: "123" }));
      });

      it("UPDATE + UPDATE -> one UPDATE carrying only the changed fields, on the server version", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 4, data: { name: "A", phone: "1", notes: "n" } }]);
        await store.update("volunteer", "v1", { phone: "2" });
        await store.update("volunteer", "v1", { notes: "m", phone: "3" });
        const changes = await store.pendingChanges();
        expect(changes).toHaveLength(1);
        expect(changes[0]).toMatchObject({ operation: "UPDATE", version: 4, data: { phone: "3", notes: "m" } });
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 4, pending: true, data: volunteer({ name: "A", phone: "3", notes: "m" }) });
      });

      it("CREATE + DELETE -> nothing to send, and the row is gone", async () => {
        const store = await fresh();
        const row = await store.create("volunteer", { name: "Ana" });
        await store.update("volunteer", row.id, { notes: "x" });
        await store.delete("volunteer", row.id);
        expect(await store.pendingChanges()).toEqual([]);
        expect(await store.get("volunteer", row.id, { includeDeleted: true })).toBeNull();
        // The id is free again.
        await store.create("volunteer", { id: row.id, name: "Again" });
      });

      it("UPDATE + DELETE -> DELETE on the server version; the row is hidden but kept as a tombstone", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 2, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { name: "B" });
        const [updated] = await store.pendingChanges();
        await store.delete("volunteer", "v1");
        const changes = await store.pendingChanges();
        expect(changes).toHaveLength(1);
        expect(changes[0]).toMatchObject({ operation: "DELETE", version: 2, data: {}, change_id: updated?.change_id });
        expect(await store.get("volunteer", "v1")).toBeNull();
        expect(await store.list("volunteer")).toEqual([]);
        expect(await store.get("volunteer", "v1", { includeDeleted: true })).toMatchObject({ pending: true });
        expect((await store.list("volunteer", { includeDeleted: true }))[0]?.deleted_at).not.toBeNull();
      });

      it("an empty patch queues nothing", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", {});
        expect(await store.pendingCount()).toBe(0);
      });
    });

    describe("bulk local writes", () => {
      it("transaction: every write inside commits, each with its outbox entry", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 2, data: { name: "A" } }]);
        const created = await store.transaction((write) => {
          const rows = [write.create("volunteer", { name: "B" }), write.create("project", { id: "p1", name: "P" })];
          write.update("volunteer", "v1", { notes: "n" });
          return rows;
        });
        expect(created.map((row) => row.id)).toEqual([expect.any(String), "p1"]);
        expect(await store.get("volunteer", must(created[0]).id)).toEqual(created[0]);
        expect((await store.pendingChanges()).map((change) => [change.entity_id, change.operation, change.version])).toEqual([
          [must(created[0]).id, "CREATE", 0],
          ["p1", "CREATE", 0],
          ["v1", "UPDATE", 2],
        ]);
      });

      it("transaction: a failure inside rolls every write back, outbox entries included", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { phone: "1" });
        const before = await store.pendingChanges();
        const failure = new Error("the import found a bad line");
        await expect(
          store.transaction((write) => {
            write.create("volunteer", { id: "v2", name: "B" });
            write.update("volunteer", "v1", { phone: "2" });
            write.delete("volunteer", "v2");
            write.create("project", { id: "p1", name: "P" });
            throw failure;
          }),
        ).rejects.toBe(failure);
        expect(await store.list("volunteer")).toMatchObject([{ id: "v1", data: volunteer({ name: "A", phone: "1" }) }]);
        expect(await store.get("project", "p1", { includeDeleted: true })).toBeNull();
        expect(await store.pendingChanges()).toEqual(before);
        // The store is still usable, and the rolled-back ids are free.
        await store.create("project", { id: "p1", name: "P" });
        expect(await store.pendingCount()).toBe(2);
      });

      it("transaction: a write refused inside and caught leaves nothing of itself; the others commit", async () => {
        const store = await fresh();
        await store.transaction((write) => {
          write.create("volunteer", { id: "v1", name: "A" });
          expect(() => write.create("volunteer", { id: "v1", name: "Twice" })).toThrow(expect.objectContaining({ code: "ENTITY_EXISTS" }));
          expect(() => write.update("volunteer", "nope", { name: "X" })).toThrow(expect.objectContaining({ code: "ENTITY_NOT_FOUND" }));
          expect(() => write.create("volunteer", { email: "no-name@example.org" })).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
          write.update("volunteer", "v1", { notes: "n" });
        });
        expect(await store.list("volunteer")).toMatchObject([{ id: "v1", data: volunteer({ name: "A", notes: "n" }) }]);
        expect(await store.pendingCount()).toBe(1);
      });

      it("transaction: writes inside coalesce in the outbox as single writes do, and see each other", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 3, data: { name: "A" } }]);
        await store.transaction((write) => {
          const row = write.create("volunteer", { id: "v2", name: "B" });
          write.update("volunteer", row.id, { phone: "1" });
          expect(write.get("volunteer", row.id)?.data).toEqual(volunteer({ name: "B", phone: "1" }));
          write.create("volunteer", { id: "gone", name: "C" });
          write.delete("volunteer", "gone");
          write.update("volunteer", "v1", { phone: "2" });
          write.update("volunteer", "v1", { notes: "n" });
          write.delete("volunteer", "v1");
        });
        const changes = await store.pendingChanges();
        expect(changes.map((change) => [change.entity_id, change.operation, change.version, change.data])).toEqual([
          ["v2", "CREATE", 0, volunteer({ name: "B", phone: "1" })],
          ["v1", "DELETE", 3, {}],
        ]);
        expect(await store.pendingCount()).toBe(2);
        expect(await store.get("volunteer", "gone", { includeDeleted: true })).toBeNull();
      });

      it("transaction: refuses an async callback and a writer used after it ended, writing nothing", async () => {
        const store = await fresh();
        let kept: LocalWriter | undefined;
        await expect(
          store.transaction(async (write) => {
            kept = write;
            write.create("volunteer", { id: "v1", name: "A" });
          }),
        ).rejects.toMatchObject({ code: "INVALID_TRANSACTION" });
        expect(await store.get("volunteer", "v1")).toBeNull();
        expect(() => must(kept).create("volunteer", { id: "v2", name: "B" })).toThrow(expect.objectContaining({ code: "INVALID_TRANSACTION" }));
        expect(await store.pendingCount()).toBe(0);
      });

      it("putMany creates rows in input order, each with its CREATE", async () => {
        const store = await fresh();
        const input = Array.from({ length: 250 }, (_, i) => ({ name: `V${i}`, skills: i % 2 === 0 ? ["cooking"] : [] }));
        const rows = await store.putMany("volunteer", input);
        expect(rows.map((row) => row.data.name)).toEqual(input.map((row) => row.name));
        expect(rows.every((row) => row.pending && row.version === 0 && isUuidV7(row.id))).toBe(true);
        expect(await store.list("volunteer")).toHaveLength(250);
        const changes = await store.pendingChanges(1000);
        expect(changes.map((change) => change.entity_id)).toEqual(rows.map((row) => row.id));
        expect(changes.every((change) => change.operation === "CREATE")).toBe(true);
      });

      it("putMany updates the fields given for rows that exist, and coalesces with what is pending", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 4, data: { name: "A", phone: "1" } }]);
        const local = await store.create("volunteer", { id: "v2", name: "B" });
        const rows = await store.putMany("volunteer", [
          { id: "v1", notes: "imported" },
          { id: local.id, phone: "2" },
          { id: "v3", name: "C" },
          { id: "v3", email: "c@example.org" },
        ]);
        expect(rows.map((row) => row.data)).toEqual([
          volunteer({ name: "A", phone: "1", notes: "imported" }),
          volunteer({ name: "B", phone: "2" }),
          volunteer({ name: "C" }),
          volunteer({ name: "C", email: "c@example.org" }),
        ]);
        const changes = await store.pendingChanges();
        expect(changes.map((change) => [change.entity_id, change.operation, change.version, change.data])).toEqual([
          ["v2", "CREATE", 0, volunteer({ name: "B", phone: "2" })],
          ["v1", "UPDATE", 4, { notes: "imported" }],
          ["v3", "CREATE", 0, volunteer({ name: "C", email: "c@example.org" })],
        ]);
      });

      it("putMany is all or nothing: one invalid row writes none", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await expect(
          store.putMany("volunteer", [{ id: "v2", name: "B" }, { id: "v1", name: "A2" }, { id: "v3", email: "no-name@example.org" }]),
        ).rejects.toMatchObject({ code: "VALIDATION_ERROR", issues: [expect.objectContaining({ loc: ["name"] })] });
        expect(await store.list("volunteer")).toMatchObject([{ id: "v1", data: volunteer({ name: "A" }), pending: false }]);
        expect(await store.pendingCount()).toBe(0);
      });
    });

    describe("in-flight changes", () => {
      it("never folds an edit into a sent change: it queues behind it under a new change id", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 3, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { phone: "1" });
        const [sent] = await store.pendingChanges();
        await store.markSent([must(sent).change_id]);
        await store.update("volunteer", "v1", { phone: "2" });
        await store.update("volunteer", "v1", { notes: "n" });

        // The sent change is resent exactly as it was; the follow-up waits for its version.
        const ready = await store.pendingChanges();
        expect(ready).toHaveLength(1);
        expect(ready[0]).toMatchObject({ change_id: sent?.change_id, data: { phone: "1" }, version: 3 });
        expect(ready[0]?.sent_at).not.toBeNull();
        expect(await store.pendingCount()).toBe(2);

        await store.completeChange(must(sent).change_id, { version: 4 });
        const next = await store.pendingChanges();
        expect(next).toHaveLength(1);
        expect(next[0]?.change_id).not.toBe(sent?.change_id);
        expect(next[0]).toMatchObject({ operation: "UPDATE", version: 4, data: { phone: "2", notes: "n" }, sent_at: null });
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 4, pending: true, data: volunteer({ name: "A", phone: "2", notes: "n" }) });
      });

      it("a delete after a sent CREATE is sent as DELETE on the version the CREATE gets", async () => {
        const store = await fresh();
        const row = await store.create("volunteer", { name: "A" });
        const [created] = await store.pendingChanges();
        await store.markSent([must(created).change_id]);
        await store.delete("volunteer", row.id);
        expect(await store.get("volunteer", row.id)).toBeNull();
        await store.completeChange(must(created).change_id, { version: 1 });
        const [deleted, ...rest] = await store.pendingChanges();
        expect(rest).toEqual([]);
        expect(deleted).toMatchObject({ operation: "DELETE", version: 1, entity_id: row.id });
      });

      it("lists at most one change per row, oldest first, and honours the limit", async () => {
        const store = await fresh();
        const a = await store.create("volunteer", { name: "A" });
        const b = await store.create("volunteer", { name: "B" });
        const c = await store.create("project", { name: "C" });
        const ids = (await store.pendingChanges()).map((change) => change.entity_id);
        expect(ids).toEqual([a.id, b.id, c.id]);
        expect((await store.pendingChanges(2)).map((change) => change.entity_id)).toEqual([a.id, b.id]);
      });

      it("completing a change records the server version and clears the pending flag", async () => {
        const store = await fresh();
        const row = await store.create("volunteer", { name: "A" });
        const [created] = await store.pendingChanges();
        await store.markSent([must(created).change_id]);
        await store.completeChange(must(created).change_id, { version: 1 });
        expect(await store.get("volunteer", row.id)).toMatchObject({ version: 1, pending: false });
        expect(await store.pendingCount()).toBe(0);
        const state = await store.syncState("volunteer", row.id);
        expect(state?.base).toMatchObject({ version: 1, data: volunteer({ name: "A" }) });
        await expect(store.completeChange(must(created).change_id, { version: 1 })).rejects.toMatchObject({ code: "CHANGE_NOT_FOUND" });
      });

      it("completeChanges settles a push batch of N applied changes: versions recorded, queued edits rebased", async () => {
        const store = await fresh();
        const N = 60;
        // Every third row was created here; the others came from the server at version 5 and were edited.
        const ids = Array.from({ length: N }, (_, i) => `v${String(i).padStart(3, "0")}`);
        await pullRows(
          store,
          ids.filter((_, i) => i % 3 !== 0).map((id) => ({ id, version: 5, data: { name: id, phone: "0" } })),
        );
        await store.transaction((write) => {
          for (const [i, id] of ids.entries()) {
            if (i % 3 === 0) write.create("volunteer", { id, name: id });
            else if (i % 3 === 1) write.update("volunteer", id, { phone: "1" });
            else write.delete("volunteer", id);
          }
        });
        const batch = await store.pendingChanges(N);
        expect(batch).toHaveLength(N);
        await store.markSent(batch.map((change) => change.change_id));
        // Edits made while the push is in flight queue behind the sent changes.
        for (const [i, id] of ids.entries()) if (i % 3 !== 2 && i % 2 === 0) await store.update("volunteer", id, { notes: "queued" });

        await store.completeChanges(batch.map((change) => ({ change_id: change.change_id, version: change.version + 1 })));

        for (const [i, id] of ids.entries()) {
          const queued = i % 3 !== 2 && i % 2 === 0;
          const version = i % 3 === 0 ? 1 : 6;
          const row = await store.get("volunteer", id, { includeDeleted: true });
          const phone = [null, "1", "0"][i % 3];
          expect(row, id).toMatchObject({ version, pending: queued, data: volunteer({ name: id, phone, notes: queued ? "queued" : null }) });
          expect(row?.deleted_at !== null, id).toBe(i % 3 === 2);
          const state = await store.syncState("volunteer", id);
          expect(state?.base, id).toMatchObject({ version, data: volunteer({ name: id, phone }) });
        }
        const next = await store.pendingChanges(N);
        expect(next.map((change) => [change.entity_id, change.operation, change.version, change.data, change.sent_at])).toEqual(
          ids.flatMap((id, i) => (i % 3 !== 2 && i % 2 === 0 ? [[id, "UPDATE", i % 3 === 0 ? 1 : 6, { notes: "queued" }, null]] : [])),
        );
        expect(await store.pendingCount()).toBe(next.length);
      });

      it("completeChanges keeps the newest server state when a replay answers an older version", async () => {
        const store = await fresh();
        await pullRows(store, [
          { id: "v1", version: 1, data: { name: "A" } },
          { id: "v2", version: 1, data: { name: "B" } },
        ]);
        await store.update("volunteer", "v1", { name: "A2" });
        await store.update("volunteer", "v2", { name: "B2" });
        const batch = await store.pendingChanges();
        await store.markSent(batch.map((change) => change.change_id));
        // The first push reached the server; another device then wrote v1 at version 3.
        await store.applyServerChanges([serverChange("volunteer", "v1", "UPDATE", 3, { name: "Theirs" })], "t3");
        await store.completeChanges(batch.map((change) => ({ change_id: change.change_id, version: 2 })));
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 3, pending: false, data: volunteer({ name: "Theirs" }) });
        expect(await store.get("volunteer", "v2")).toMatchObject({ version: 2, pending: false, data: volunteer({ name: "B2" }) });
      });

      it("completeChanges is all or nothing: a change not in the outbox settles none", async () => {
        const store = await fresh();
        await store.create("volunteer", { id: "v1", name: "A" });
        const [change] = await store.pendingChanges();
        await expect(
          store.completeChanges([
            { change_id: must(change).change_id, version: 1 },
            { change_id: "not-in-the-outbox", version: 1 },
          ]),
        ).rejects.toMatchObject({ code: "CHANGE_NOT_FOUND" });
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 0, pending: true });
        expect(await store.pendingChanges()).toEqual([change]);
        await store.completeChanges([]);
        expect(await store.pendingCount()).toBe(1);
      });

      it("markSent keeps the first sent time, and marks nothing if any change is not in the outbox", async () => {
        const store = await fresh();
        await store.create("volunteer", { id: "v1", name: "A" });
        await store.create("volunteer", { id: "v2", name: "B" });
        const [first, second] = await store.pendingChanges();
        await store.markSent([must(first).change_id]);
        const sentAt = (await store.pendingChanges())[0]?.sent_at;
        expect(sentAt).not.toBeNull();
        await expect(store.markSent([must(second).change_id, "not-in-the-outbox"])).rejects.toMatchObject({ code: "CHANGE_NOT_FOUND" });
        expect((await store.pendingChanges()).map((change) => change.sent_at !== null)).toEqual([true, false]);
        await store.markSent([must(first).change_id, must(second).change_id]);
        expect((await store.pendingChanges())[0]?.sent_at).toBe(sentAt);
      });

      it("counts failed attempts and keeps the change", async () => {
        const store = await fresh();
        await store.create("volunteer", { name: "A" });
        const [change] = await store.pendingChanges();
        expect(await store.recordFailure(must(change).change_id, { code: "NETWORK", detail: "offline" })).toBe(1);
        expect(await store.recordFailure(must(change).change_id, { code: "NETWORK", detail: "offline" })).toBe(2);
        expect((await store.pendingChanges())[0]).toMatchObject({ retry_count: 2, last_error: { code: "NETWORK", detail: "offline" } });
      });

      it("recordFailures counts a failed push for every change of the batch at once, or for none", async () => {
        const store = await fresh();
        await store.putMany("volunteer", [{ name: "A" }, { name: "B" }, { name: "C" }]);
        const batch = await store.pendingChanges();
        const ids = batch.map((change) => change.change_id);
        await store.recordFailures(ids.slice(0, 2), { code: "NETWORK_ERROR", detail: "offline" });
        await store.recordFailures(ids.slice(0, 1), { code: "NETWORK_ERROR", detail: "still offline" });
        expect((await store.pendingChanges()).map((change) => [change.retry_count, change.last_error?.detail ?? null])).toEqual([
          [2, "still offline"],
          [1, "offline"],
          [0, null],
        ]);
        await expect(store.recordFailures([must(ids[2]), "not-in-the-outbox"], { code: "X", detail: "y" })).rejects.toMatchObject({
          code: "CHANGE_NOT_FOUND",
        });
        expect((await store.pendingChanges())[2]?.retry_count).toBe(0);
      });

      it("a refused change stays, held with the reason: not pushed, edits queued behind it folded in", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { name: "B" });
        const [first] = await store.pendingChanges();
        await store.markSent([must(first).change_id]);
        await store.update("volunteer", "v1", { notes: "C" });
        const other = await store.create("volunteer", { name: "Other" });
        const held = await store.refuseChange(must(first).change_id, { code: "VALIDATION_ERROR", detail: "name: too long" });
        expect(held).toMatchObject({
          change_id: first?.change_id,
          operation: "UPDATE",
          version: 1,
          data: { name: "B", notes: "C" },
          sent_at: null,
          last_error: { code: "VALIDATION_ERROR", detail: "name: too long" },
        });
        expect(held?.refused_at).toEqual(expect.any(String));
        expect(await store.refusedChanges()).toEqual([held]);
        expect(await store.pendingCount()).toBe(2);
        expect((await store.pendingChanges()).map((c) => c.entity_id)).toEqual([other.id]);
        expect(await store.get("volunteer", "v1")).toMatchObject({ pending: true, version: 1, data: volunteer({ name: "B", notes: "C" }) });
        // A pull over the row keeps the held change on top of the newer server state.
        await pullRows(store, [{ id: "v1", version: 2, data: { name: "A2", phone: "9" } }]);
        expect(await store.get("volunteer", "v1")).toMatchObject({ pending: true, version: 2, data: volunteer({ name: "B", notes: "C", phone: "9" }) });
        expect(await store.refusedChanges()).toHaveLength(1);
      });

      it("an edit of a refused change's row queues it again, under the same change id", async () => {
        const store = await fresh();
        const row = await store.create("volunteer", { name: "A" });
        const [created] = await store.pendingChanges();
        await store.markSent([must(created).change_id]);
        await store.refuseChange(must(created).change_id, { code: "VALIDATION_ERROR", detail: "no" });
        expect(await store.pendingChanges()).toEqual([]);
        await store.update("volunteer", row.id, { name: "Fixed" });
        expect(await store.refusedChanges()).toEqual([]);
        expect(await store.pendingChanges()).toMatchObject([{ change_id: created?.change_id, operation: "CREATE", data: { name: "Fixed" }, refused_at: null }]);
      });

      it("a refused change is re-sent as it is on request, and a refused CREATE the user deletes is gone", async () => {
        const store = await fresh();
        const kept = await store.create("volunteer", { name: "Kept" });
        const gone = await store.create("volunteer", { name: "Gone" });
        const entries = await store.pendingChanges();
        await store.markSent(entries.map((c) => c.change_id));
        await store.update("volunteer", gone.id, { notes: "queued" });
        await store.delete("volunteer", gone.id);
        const [keptChange, goneChange] = entries;
        await store.refuseChange(must(keptChange).change_id, { code: "UNKNOWN_ENTITY_TYPE", detail: "x" });
        // The delete queued behind the refused CREATE cancels it: the user's own decision.
        expect(await store.refuseChange(must(goneChange).change_id, { code: "VALIDATION_ERROR", detail: "y" })).toBeNull();
        expect(await store.get("volunteer", gone.id, { includeDeleted: true })).toBeNull();
        const resent = await store.resendChange(must(keptChange).change_id);
        expect(resent).toMatchObject({ change_id: keptChange?.change_id, refused_at: null, data: { name: "Kept" } });
        expect((await store.pendingChanges()).map((c) => c.entity_id)).toEqual([kept.id]);
        expect(await store.refusedChanges()).toEqual([]);
      });

      it("discarding a refused change drops only it: the edits queued behind it stay, on the server state", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { name: "B" });
        const [first] = await store.pendingChanges();
        await store.markSent([must(first).change_id]);
        await store.update("volunteer", "v1", { notes: "C" });
        const dropped = await store.discardChange(must(first).change_id);
        expect(dropped.map((change) => change.change_id)).toEqual([first?.change_id]);
        expect(await store.get("volunteer", "v1")).toMatchObject({ pending: true, version: 1, data: volunteer({ name: "A", notes: "C" }) });
        const [next, ...rest] = await store.pendingChanges();
        expect(rest).toEqual([]);
        expect(next).toMatchObject({ operation: "UPDATE", version: 1, data: { notes: "C" }, sent_at: null });
      });

      it("discarding a refused change with nothing queued restores the server state", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { name: "B" });
        const [first] = await store.pendingChanges();
        await store.discardChange(must(first).change_id);
        expect(await store.pendingCount()).toBe(0);
        expect(await store.get("volunteer", "v1")).toMatchObject({ pending: false, version: 1, data: volunteer({ name: "A" }) });
      });

      it("discarding a refused CREATE drops the edits queued behind it too, and says so", async () => {
        const store = await fresh();
        const row = await store.create("volunteer", { name: "A" });
        const [created] = await store.pendingChanges();
        await store.markSent([must(created).change_id]);
        await store.update("volunteer", row.id, { notes: "n" });
        const dropped = await store.discardChange(must(created).change_id);
        expect(dropped.map((change) => change.operation)).toEqual(["CREATE", "UPDATE"]);
        expect(await store.pendingCount()).toBe(0);
        expect(await store.get("volunteer", row.id, { includeDeleted: true })).toBeNull();
      });

      it("discarding a never-acknowledged CREATE removes the row", async () => {
        const store = await fresh();
        const row = await store.create("volunteer", { name: "A" });
        const [created] = await store.pendingChanges();
        await store.discardChange(must(created).change_id);
        expect(await store.get("volunteer", row.id, { includeDeleted: true })).toBeNull();
      });
    });

    describe("pulled pages", () => {
      it("reconciles a full pass: a change at the version held fills what the device missed, the cursor stays, local edits stay on top", async () => {
        const store = await fresh();
        await store.applyServerChanges(
          [serverChange("volunteer", "v1", "CREATE", 2, { name: "A" }), serverChange("volunteer", "v2", "CREATE", 3, { name: "B" })],
          "cursor-1",
        );
        await store.update("volunteer", "v2", { notes: "local" });
        // The same versions, now with a value the device did not keep when it first pulled them.
        const result = await store.reconcileServerChanges([
          serverChange("volunteer", "v1", "CREATE", 2, { name: "A", phone: "111" }),
          serverChange("volunteer", "v2", "CREATE", 3, { name: "B", phone: "222" }),
          serverChange("volunteer", "v3", "CREATE", 1, { name: "C" }),
          serverChange("volunteer", "v1", "CREATE", 1, { name: "Old" }),
        ]);
        expect(result).toEqual({ applied: 2, rebased: 1, skipped: 1 });
        expect(await store.getCursor()).toBe("cursor-1");
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 2, pending: false, data: volunteer({ name: "A", phone: "111" }) });
        expect(await store.get("volunteer", "v3")).toMatchObject({ version: 1, data: volunteer({ name: "C" }) });
        const v2 = await store.syncState("volunteer", "v2");
        expect(v2?.row).toMatchObject({ version: 3, pending: true, data: volunteer({ name: "B", phone: "222", notes: "local" }) });
        expect(v2?.base).toMatchObject({ version: 3, data: volunteer({ name: "B", phone: "222" }) });
        expect(v2?.pending).toMatchObject([{ operation: "UPDATE", version: 3, data: { notes: "local" } }]);
        // An ordinary page still skips what it already has.
        expect(await store.applyServerChanges([serverChange("volunteer", "v1", "UPDATE", 2, { name: "A", phone: "999" })], "cursor-2")).toMatchObject({ skipped: 1 });
      });

      it("writes rows without pending changes and stores the cursor with them", async () => {
        const store = await fresh();
        const result = await store.applyServerChanges(
          [
            serverChange("volunteer", "v1", "CREATE", 1, { id: "v1", name: "A", version: 1, updated_at: "2025-01-01T00:00:00Z" }),
            serverChange("project", "p1", "UPDATE", 7, { name: "P", status: "active" }),
          ],
          "token-1",
        );
        expect(result).toEqual({ applied: 2, rebased: 0, skipped: 0 });
        expect(await store.getCursor()).toBe("token-1");
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 1, pending: false, data: volunteer({ name: "A" }) });
        expect((await store.get("project", "p1"))?.version).toBe(7);
        expect(await store.pendingCount()).toBe(0);
      });

      it("skips what it already has, deletes tombstoned rows, ignores tombstones of rows it never had", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 3, data: { name: "New" } }]);
        const result = await store.applyServerChanges(
          [
            serverChange("volunteer", "v1", "UPDATE", 2, { name: "Old" }),
            serverChange("volunteer", "v2", "DELETE", 5, {}),
          ],
          "t2",
        );
        expect(result).toEqual({ applied: 0, rebased: 0, skipped: 2 });
        expect((await store.get("volunteer", "v1"))?.data.name).toBe("New");
        await store.applyServerChanges([serverChange("volunteer", "v1", "DELETE", 4, {})], "t3");
        expect(await store.get("volunteer", "v1")).toBeNull();
        expect(await store.get("volunteer", "v1", { includeDeleted: true })).toMatchObject({ version: 4, data: volunteer({ name: "New" }) });
      });

      it("commits a page and its cursor together, or neither", async () => {
        const store = await fresh();
        await store.applyServerChanges([serverChange("volunteer", "v1", "CREATE", 1, { name: "A" })], "t1");
        await expect(
          store.applyServerChanges(
            [serverChange("volunteer", "v2", "CREATE", 1, { name: "B" }), serverChange("spaceship", "s1", "CREATE", 1, {})],
            "t2",
          ),
        ).rejects.toMatchObject({ code: "UNKNOWN_ENTITY_TYPE" });
        expect(await store.getCursor()).toBe("t1");
        expect(await store.get("volunteer", "v2")).toBeNull();
      });

      it("keeps local edits on top of a newer server state, and keeps the push based on the old version", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A", phone: "1" } }]);
        await store.update("volunteer", "v1", { phone: "2" });
        const result = await store.applyServerChanges(
          [serverChange("volunteer", "v1", "UPDATE", 2, { name: "A (server)", phone: "9" })],
          "t2",
        );
        expect(result).toEqual({ applied: 0, rebased: 1, skipped: 0 });
        expect(await store.get("volunteer", "v1")).toMatchObject({
          version: 2,
          pending: true,
          data: volunteer({ name: "A (server)", phone: "2" }),
        });
        const [change] = await store.pendingChanges();
        expect(change).toMatchObject({ operation: "UPDATE", version: 1, data: { phone: "2" } });
        const state = await store.syncState("volunteer", "v1");
        expect(state?.base).toMatchObject({ version: 1, data: volunteer({ name: "A", phone: "1" }) });
        expect(state?.server).toMatchObject({ version: 2, data: volunteer({ name: "A (server)", phone: "9" }) });
        expect(await store.getCursor()).toBe("t2");
      });

      it("keeps a locally edited row visible when the server deleted it, until the conflict is settled", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { notes: "mine" });
        await store.applyServerChanges([serverChange("volunteer", "v1", "DELETE", 2, {})], "t2");
        expect(await store.get("volunteer", "v1")).toMatchObject({ data: volunteer({ name: "A", notes: "mine" }), pending: true });
        expect((await store.syncState("volunteer", "v1"))?.server?.deleted_at).not.toBeNull();
      });

      it("after a replayed push answers an older version, the row takes the newer state a pull saw", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { name: "B" });
        const [change] = await store.pendingChanges();
        await store.markSent([must(change).change_id]);
        // The push reached the server (v2) but its answer was lost; another device then wrote v3.
        await store.applyServerChanges([serverChange("volunteer", "v1", "UPDATE", 3, { name: "C" })], "t3");
        expect((await store.get("volunteer", "v1"))?.data.name).toBe("B");
        // The resent push is a replay: the server answers its first answer, version 2.
        await store.completeChange(must(change).change_id, { version: 2 });
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 3, pending: false, data: volunteer({ name: "C" }) });
      });

      it("after a push settles, a pull that only saw the device's own change changes nothing", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { name: "B" });
        const [change] = await store.pendingChanges();
        await store.markSent([must(change).change_id]);
        await store.completeChange(must(change).change_id, { version: 2 });
        const result = await store.applyServerChanges([serverChange("volunteer", "v1", "UPDATE", 2, { name: "B" })], "t");
        expect(result.skipped).toBe(1);
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 2, data: volunteer({ name: "B" }) });
      });
    });

    describe("conflict hooks", () => {
      it("settleChange takes the resolved state and keeps the edits queued behind the change", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { name: "Mine" });
        const [sent] = await store.pendingChanges();
        await store.markSent([must(sent).change_id]);
        await store.update("volunteer", "v1", { notes: "queued" });

        expect(await store.settleChange(must(sent).change_id, state(3, { name: "Resolved" }))).toBe(true);
        expect(await store.get("volunteer", "v1")).toMatchObject({
          version: 3,
          pending: true,
          data: volunteer({ name: "Resolved", notes: "queued" }),
        });
        const [next, ...rest] = await store.pendingChanges();
        expect(rest).toEqual([]);
        expect(next).toMatchObject({ operation: "UPDATE", version: 3, data: { notes: "queued" }, sent_at: null });
        expect((await store.syncState("volunteer", "v1"))?.base).toMatchObject({ version: 3, data: volunteer({ name: "Resolved" }) });
        // Settled once: settling again (a replay after a crash) changes nothing.
        expect(await store.settleChange(must(sent).change_id, state(2, { name: "Older" }))).toBe(false);
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 3, data: volunteer({ name: "Resolved", notes: "queued" }) });
        expect(await store.pendingCount()).toBe(1);
      });

      it("settleChange with nothing queued leaves the row as the server holds it", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { name: "Mine" });
        const [change] = await store.pendingChanges();
        await store.settleChange(must(change).change_id, state(2, { name: "Mine" }));
        expect(await store.pendingCount()).toBe(0);
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 2, pending: false, data: volunteer({ name: "Mine" }) });
      });

      it("acceptServerState drops the row's pending changes and takes the server's state", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.update("volunteer", "v1", { name: "Mine" });
        await store.acceptServerState("volunteer", "v1", state(5, { name: "Theirs" }));
        expect(await store.pendingCount()).toBe(0);
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 5, pending: false, data: volunteer({ name: "Theirs" }) });
      });

      it("acceptServerState(null) forgets a row the server does not have", async () => {
        const store = await fresh();
        const row = await store.create("volunteer", { name: "A" });
        await store.acceptServerState("volunteer", row.id, null);
        expect(await store.get("volunteer", row.id, { includeDeleted: true })).toBeNull();
        expect(await store.pendingCount()).toBe(0);
      });

      it("rebaseOnServer replaces pending changes with one new change that turns the server state into the local one", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A", phone: "1" } }]);
        await store.update("volunteer", "v1", { phone: "2" });
        const [old] = await store.pendingChanges();
        await store.markSent([must(old).change_id]);
        const change = await store.rebaseOnServer("volunteer", "v1", state(3, { name: "Z", phone: "1", notes: "theirs" }));
        expect(change).toMatchObject({ operation: "UPDATE", version: 3, data: { name: "A", notes: null, phone: "2" }, sent_at: null });
        expect(change?.change_id).not.toBe(old?.change_id);
        expect(await store.pendingChanges()).toEqual([change]);
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 3, data: volunteer({ name: "A", phone: "2" }) });
      });

      it("rebaseOnServer with a merged result sends only what differs from the server", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A", phone: "1" } }]);
        await store.update("volunteer", "v1", { phone: "2" });
        const server = state(2, { name: "B", phone: "1" });
        const merged = { data: volunteer({ name: "B", phone: "2" }), deleted: false };
        const change = await store.rebaseOnServer("volunteer", "v1", server, merged);
        expect(change).toMatchObject({ operation: "UPDATE", version: 2, data: { phone: "2" } });
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 2, data: merged.data });
        expect(await store.rebaseOnServer("volunteer", "v1", state(3, merged.data), merged)).toBeNull();
        expect(await store.get("volunteer", "v1")).toMatchObject({ version: 3, pending: false });
      });

      it("rebaseOnServer carries a local delete onto the server's version", async () => {
        const store = await fresh();
        await pullRows(store, [{ id: "v1", version: 1, data: { name: "A" } }]);
        await store.delete("volunteer", "v1");
        const change = await store.rebaseOnServer("volunteer", "v1", state(4, { name: "B" }));
        expect(change).toMatchObject({ operation: "DELETE", version: 4 });
        expect(await store.get("volunteer", "v1")).toBeNull();
      });
    });

    describe("settings", () => {
      it("keeps meta values and the cursor, and removes them", async () => {
        const store = await fresh();
        expect(await store.getMeta("device_id")).toBeNull();
        await store.setMeta("device_id", "d-1");
        await store.setMeta("server_url", "https://sync.example");
        await store.setMeta("device_id", "d-2");
        expect(await store.getMeta("device_id")).toBe("d-2");
        await store.setMeta("server_url", null);
        expect(await store.getMeta("server_url")).toBeNull();
        await store.setCursor("c");
        expect(await store.getCursor()).toBe("c");
        await store.setCursor(null);
        expect(await store.getCursor()).toBeNull();
      });

      it("refuses to be used after close", async () => {
        const store = await makeStore();
        await store.close();
        await expect(store.list("volunteer")).rejects.toMatchObject({ code: "STORE_CLOSED" });
        await store.close();
      });
    });

    it("property: syncing the coalesced outbox leaves the server as applying every local edit in order would", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(commandArbitrary, { minLength: 1, maxLength: 40 }), async (commands) => {
          const store = await makeStore();
          try {
            await checkOutboxModel(store, commands);
          } finally {
            await store.close();
          }
        }),
        { numRuns: 150 },
      );
    });
  });
}

// --- Helpers -------------------------------------------------------------------------------

function must<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new TypeError("expected a value");
  return value;
}

/** The volunteer's fields, as the definitions have them. */
const volunteerFields = Object.keys(entityDefinitions.volunteer.fields);

/** A volunteer's full data: the given fields, the rest null. */
function volunteer(fields: Readonly<Record<string, unknown>>): EntityData {
  return Object.fromEntries(volunteerFields.map((name) => [name, fields[name] ?? null]));
}

/** Text the field accepts: the first of a few shapes its rules allow, so new rules need no new sample. */
function sampleText(type: EntityType, name: string, field: FieldDefinition): string {
  if (field.values) return must(field.values[0]);
  if (field.format === "email") return "sample@example.org";
  const candidates = ["Sample text", "123", "ABC", "abc", "a"].map((text) => text.padEnd(field.minLength ?? 0, "x"));
  const found = candidates.find((text) => validateEntityData(type, { [name]: text }, "patch").ok);
  if (found === undefined) throw new TypeError(`No sample text fits ${type}.${name}: add one to sampleText`);
  return found;
}

/** Every field of the type set to a value its definition accepts. */
function sampleRow(type: EntityType): EntityData {
  const fields: Readonly<Record<string, FieldDefinition>> = entityDefinitions[type].fields;
  const row: EntityData = {};
  for (const [name, field] of Object.entries(fields)) {
    switch (field.kind) {
      case FieldKind.Text:
        row[name] = sampleText(type, name, field);
        break;
      case FieldKind.Integer:
        row[name] = Math.max(field.min ?? 1, Math.min(field.max ?? 7, 7));
        break;
      case FieldKind.Number:
        row[name] = Math.max(field.min ?? 0, Math.min(field.max ?? 2.5, 2.5));
        break;
      case FieldKind.Boolean:
        row[name] = true;
        break;
      case FieldKind.Date:
        row[name] = "2025-03-01";
        break;
      case FieldKind.DateTime:
        row[name] = "2025-03-01T10:30:00.000Z";
        break;
      case FieldKind.TextList:
        row[name] = ["one", "two"];
        break;
      case FieldKind.Ref:
        row[name] = `${field.references ?? "row"}-1`;
        break;
    }
  }
  expect(validateEntityData(type, row, "full"), `the sample ${type}`).toMatchObject({ ok: true });
  return row;
}

function state(version: number, fields: Readonly<Record<string, unknown>>): ServerState {
  return { version, data: volunteer(fields), deleted_at: null, updated_at: "2025-01-01T00:00:00.000Z" };
}

function serverChange(
  entity_type: string,
  entity_id: string,
  operation: "CREATE" | "UPDATE" | "DELETE",
  version: number,
  data: Record<string, unknown>,
): ServerChange {
  return { entity_type, entity_id, operation, version, data, modified_at: "2025-01-01T00:00:00.000Z", modified_by_device_id: null };
}

async function pullRows(
  store: LocalStore,
  rows: { id: string; version: number; data: Readonly<Record<string, unknown>> }[],
): Promise<void> {
  await store.applyServerChanges(
    rows.map((row) => serverChange("volunteer", row.id, "UPDATE", row.version, row.data)),
    "seed",
  );
}

// --- The outbox model ----------------------------------------------------------------------

type Command =
  | { kind: "create"; id: string; name: string }
  | { kind: "update"; id: string; patch: { name?: string; notes?: string | null; phone?: string } }
  | { kind: "delete"; id: string }
  /** Push up to `count` changes; `deliver` says per change whether the server got it and whether its answer came back. */
  | { kind: "push"; count: number; deliver: ("applied" | "lost_request" | "lost_answer")[] }
  /** Pull every row the server holds at its current version. */
  | { kind: "pull" };

const ids = ["s0", "s1", "a", "b", "c"];
const idArb = fc.constantFrom(...ids);
const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("create" as const), id: idArb, name: fc.constantFrom("A", "B") }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("update" as const),
      id: idArb,
      patch: fc.record(
        { name: fc.constantFrom("N1", "N2"), notes: fc.constantFrom("x", "y", null), phone: fc.constantFrom("1", "2") },
        { requiredKeys: [] },
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), id: idArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("push" as const),
      count: fc.integer({ min: 1, max: 5 }),
      deliver: fc.array(fc.constantFrom("applied" as const, "lost_request" as const, "lost_answer" as const), {
        minLength: 5,
        maxLength: 5,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "pull" as const }) },
);

interface ServerRow {
  version: number;
  data: EntityData;
  deleted: boolean;
}

/**
 * A server that applies changes the way DESIGN §3 says: CREATE on a free id, UPDATE/DELETE only at
 * the exact version, answering a replayed change_id with its first answer. A version mismatch
 * throws: this device is the only writer, so one would mean the outbox sent a wrong version.
 */
class ModelServer {
  readonly rows = new Map<string, ServerRow>();
  private readonly answers = new Map<string, number>();

  apply(change: PendingChange): number {
    const replay = this.answers.get(change.change_id);
    if (replay !== undefined) return replay;
    const row = this.rows.get(change.entity_id);
    let version: number;
    if (change.operation === "CREATE") {
      expect(row, `CREATE of existing ${change.entity_id}`).toBeUndefined();
      expect(change.version).toBe(0);
      version = 1;
      this.rows.set(change.entity_id, { version, data: change.data, deleted: false });
    } else {
      const current = must(row);
      expect(current.deleted, `${change.operation} of deleted ${change.entity_id}`).toBe(false);
      expect(change.version, `${change.operation} of ${change.entity_id}`).toBe(current.version);
      version = current.version + 1;
      this.rows.set(change.entity_id, {
        version,
        data: change.operation === "UPDATE" ? { ...current.data, ...change.data } : current.data,
        deleted: change.operation === "DELETE",
      });
    }
    this.answers.set(change.change_id, version);
    return version;
  }

  live(): Map<string, EntityData> {
    return new Map([...this.rows].filter(([, row]) => !row.deleted).map(([id, row]) => [id, row.data]));
  }
}

async function checkOutboxModel(store: LocalStore, commands: readonly Command[]): Promise<void> {
  const server = new ModelServer();
  // What the app expects to see: every local edit applied in order.
  const expected = new Map<string, EntityData>();
  for (const id of ["s0", "s1"]) {
    server.rows.set(id, { version: 1, data: volunteer({ name: id }), deleted: false });
    expected.set(id, volunteer({ name: id }));
  }
  await pull(store, server);

  for (const command of commands) {
    switch (command.kind) {
      case "create": {
        const exists = (await store.get("volunteer", command.id, { includeDeleted: true })) !== null;
        const attempt = store.create("volunteer", { id: command.id, name: command.name });
        if (exists) {
          await expect(attempt).rejects.toMatchObject({ code: "ENTITY_EXISTS" });
        } else {
          await attempt;
          expected.set(command.id, volunteer({ name: command.name }));
        }
        break;
      }
      case "update": {
        const current = expected.get(command.id);
        const attempt = store.update("volunteer", command.id, command.patch);
        if (current) {
          await attempt;
          expected.set(command.id, { ...current, ...command.patch });
        } else {
          await expect(attempt).rejects.toMatchObject({ code: "ENTITY_NOT_FOUND" });
        }
        break;
      }
      case "delete": {
        const attempt = store.delete("volunteer", command.id);
        if (expected.has(command.id)) {
          await attempt;
          expected.delete(command.id);
        } else {
          await expect(attempt).rejects.toMatchObject({ code: "ENTITY_NOT_FOUND" });
        }
        break;
      }
      case "push":
        await push(store, server, command.count, command.deliver);
        break;
      case "pull":
        await pull(store, server);
        break;
    }
    // The app always sees its own edits, whatever was pushed or pulled in between.
    expect(await liveRows(store)).toEqual(expected);
  }

  // Back online for good: push until the outbox is empty.
  for (let round = 0; (await store.pendingCount()) > 0; round++) {
    expect(round, "the outbox drains").toBeLessThan(50);
    await push(store, server, 100, []);
  }
  expect(server.live()).toEqual(expected);
  expect(await liveRows(store)).toEqual(expected);
  for (const row of await store.list("volunteer")) expect(row.version).toBe(server.rows.get(row.id)?.version);
}

async function push(
  store: LocalStore,
  server: ModelServer,
  count: number,
  deliver: readonly ("applied" | "lost_request" | "lost_answer")[],
): Promise<void> {
  const batch = await store.pendingChanges(count);
  await store.markSent(batch.map((change) => change.change_id));
  for (const [i, change] of batch.entries()) {
    const fate = deliver[i] ?? "applied";
    if (fate === "lost_request") continue;
    const version = server.apply(change);
    if (fate === "applied") await store.completeChange(change.change_id, { version });
  }
}

async function pull(store: LocalStore, server: ModelServer): Promise<void> {
  const changes = [...server.rows].map(([id, row]) =>
    serverChange("volunteer", id, row.deleted ? "DELETE" : "UPDATE", row.version, row.deleted ? {} : row.data),
  );
  await store.applyServerChanges(changes, `v${changes.length}`);
}

async function liveRows(store: LocalStore): Promise<Map<string, EntityData>> {
  return new Map((await store.list("volunteer")).map((row) => [row.id, row.data]));
}
