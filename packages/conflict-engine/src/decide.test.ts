import { describe, expect, it } from "vitest";
import { decide, type IncomingChange, type ServerRow } from "./decide";

const live = (version: number, data: Record<string, unknown>, device: string | null = "dev-b"): ServerRow => ({
  version,
  deleted: false,
  data,
  modified_by_device_id: device,
});
const tombstone = (version: number, data: Record<string, unknown> = { name: "Ana" }): ServerRow => ({
  version,
  deleted: true,
  data,
  modified_by_device_id: "dev-b",
});
const create = (data: Record<string, unknown>): IncomingChange => ({ operation: "CREATE", version: 0, data, device_id: "dev-a" });
const update = (version: number, data: Record<string, unknown>, extra: Partial<IncomingChange> = {}): IncomingChange => ({
  operation: "UPDATE",
  version,
  data,
  device_id: "dev-a",
  ...extra,
});
const remove = (version: number): IncomingChange => ({ operation: "DELETE", version, data: {}, device_id: "dev-a" });

describe("decide: CREATE", () => {
  it("inserts a new row at version 1", () => {
    expect(decide(create({ name: "Ana", email: "ana@example.org" }), null)).toEqual({
      outcome: "apply",
      write: "insert",
      version: 1,
      data: { name: "Ana", email: "ana@example.org" },
    });
  });

  it("answers a replay of the same CREATE with the row's version and writes nothing", () => {
    const current = live(3, { name: "Ana", skills: ["first aid"], notes: null });
    expect(decide(create({ name: "Ana", skills: ["first aid"] }), current)).toEqual({ outcome: "noop", version: 3 });
  });

  it("is create_exists when the id holds other data", () => {
    expect(decide(create({ name: "Ana" }), live(1, { name: "Bea" }))).toEqual({ outcome: "conflict", type: "create_exists" });
  });

  it("is create_exists when list values differ only in order", () => {
    const current = live(1, { name: "Ana", skills: ["a", "b"] });
    expect(decide(create({ name: "Ana", skills: ["b", "a"] }), current)).toMatchObject({ type: "create_exists" });
  });

  it("is create_exists when the id was deleted, even with the same data", () => {
    expect(decide(create({ name: "Ana" }), tombstone(4, { name: "Ana" }))).toEqual({ outcome: "conflict", type: "create_exists" });
  });
});

describe("decide: UPDATE", () => {
  it("is not_found when the row does not exist", () => {
    expect(decide(update(1, { name: "Ana" }), null)).toEqual({ outcome: "not_found" });
  });

  it("applies a patch based on the current version, keeping the fields it does not name", () => {
    const current = live(2, { name: "Ana", email: "ana@example.org", phone: "123" });
    expect(decide(update(2, { phone: "456", notes: null }), current)).toEqual({
      outcome: "apply",
      write: "update",
      version: 3,
      data: { name: "Ana", email: "ana@example.org", phone: "456", notes: null },
    });
  });

  it("is version_mismatch when the row moved on", () => {
    expect(decide(update(2, { phone: "456" }), live(3, { name: "Ana" }))).toEqual({
      outcome: "conflict",
      type: "version_mismatch",
    });
  });

  it("is version_mismatch when the client claims a version the server never wrote", () => {
    expect(decide(update(5, { phone: "456" }), live(3, { name: "Ana" }))).toMatchObject({ type: "version_mismatch" });
  });

  it("is update_on_deleted when the row was deleted at the version the client saw", () => {
    expect(decide(update(4, { phone: "456" }), tombstone(4))).toEqual({ outcome: "conflict", type: "update_on_deleted" });
  });

  it("is update_on_deleted when the row was deleted after the version the client saw", () => {
    expect(decide(update(2, { phone: "456" }), tombstone(4))).toEqual({ outcome: "conflict", type: "update_on_deleted" });
  });

  describe("a repeat of the device's own last write, without change_id", () => {
    const afterOwnWrite = live(3, { name: "Ana", phone: "456" }, "dev-a");

    it("is answered with the row's version", () => {
      expect(decide(update(2, { phone: "456" }), afterOwnWrite)).toEqual({ outcome: "noop", version: 3 });
    });

    it("is a conflict when another device wrote last", () => {
      expect(decide(update(2, { phone: "456" }), live(3, { name: "Ana", phone: "456" }, "dev-b"))).toMatchObject({
        type: "version_mismatch",
      });
    });

    it("is a conflict when the data differs", () => {
      expect(decide(update(2, { phone: "789" }), afterOwnWrite)).toMatchObject({ type: "version_mismatch" });
    });

    it("is a conflict when the row moved more than one version", () => {
      expect(decide(update(1, { phone: "456" }), afterOwnWrite)).toMatchObject({ type: "version_mismatch" });
    });

    it("is a conflict when the change carries a change_id (the idempotency ledger decides those)", () => {
      expect(decide(update(2, { phone: "456" }, { change_id: "c-1" }), afterOwnWrite)).toMatchObject({
        type: "version_mismatch",
      });
    });

    it("is a conflict when replay recognition is turned off", () => {
      expect(decide(update(2, { phone: "456" }), afterOwnWrite, { recognizeReplays: false })).toMatchObject({
        type: "version_mismatch",
      });
    });
  });
});

describe("decide: DELETE", () => {
  it("is not_found when the row does not exist", () => {
    expect(decide(remove(1), null)).toEqual({ outcome: "not_found" });
  });

  it("deletes a row at the version the client saw, writing the next version", () => {
    expect(decide(remove(2), live(2, { name: "Ana" }))).toEqual({
      outcome: "apply",
      write: "delete",
      version: 3,
      data: { name: "Ana" },
    });
  });

  it("is delete_on_modified when the row moved on", () => {
    expect(decide(remove(2), live(3, { name: "Ana" }))).toEqual({ outcome: "conflict", type: "delete_on_modified" });
  });

  it("answers a DELETE of a deleted row with the tombstone's version", () => {
    expect(decide(remove(4), tombstone(4))).toEqual({ outcome: "noop", version: 4 });
    expect(decide(remove(2), tombstone(4))).toEqual({ outcome: "noop", version: 4 });
  });
});
