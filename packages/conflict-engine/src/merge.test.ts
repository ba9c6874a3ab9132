import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sameFields, sameValue } from "./equality";
import { mergeFields, mergePatch, mergeStaleUpdate } from "./merge";

describe("mergeFields (three-way)", () => {
  const base = { name: "Ana", phone: "111", status: "active", skills: ["cooking"] };

  it("takes each side's own changes", () => {
    const client = { ...base, phone: "222" };
    const server = { ...base, status: "inactive" };
    expect(mergeFields(base, client, server)).toEqual({
      merged: { name: "Ana", phone: "222", status: "inactive", skills: ["cooking"] },
      conflictingFields: [],
    });
  });

  it("accepts the same change made on both sides", () => {
    const both = { ...base, skills: ["cooking", "driving"] };
    expect(mergeFields(base, both, { ...both })).toEqual({ merged: both, conflictingFields: [] });
  });

  it("reports fields changed differently on both sides and keeps the server's value", () => {
    const client = { ...base, phone: "222", name: "Ana M." };
    const server = { ...base, phone: "333" };
    expect(mergeFields(base, client, server)).toEqual({
      merged: { name: "Ana M.", phone: "333", status: "active", skills: ["cooking"] },
      conflictingFields: ["phone"],
    });
  });

  it("takes a field cleared on one side", () => {
    const client = { ...base, phone: null };
    expect(mergeFields(base, client, base).merged).toEqual({ ...base, phone: null });
  });

  it("takes a field only one side added", () => {
    expect(mergeFields(base, base, { ...base, notes: "new" }).merged).toEqual({ ...base, notes: "new" });
    expect(mergeFields(base, { ...base, notes: "new" }, base).merged).toEqual({ ...base, notes: "new" });
  });
});

describe("mergePatch (two-way, no base)", () => {
  const server = { name: "Ana", phone: "111", status: "active" };

  it("is clean when every patched field already holds the client's value", () => {
    expect(mergePatch({ phone: "111" }, server)).toEqual({ merged: server, conflictingFields: [] });
  });

  it("counts a patched field that differs from the server as conflicting", () => {
    expect(mergePatch({ phone: "222", status: "active" }, server)).toEqual({ merged: server, conflictingFields: ["phone"] });
  });
});

// Rows over a handful of field names, with values that collide often enough to exercise every branch.
const fieldValue = fc.oneof(fc.constantFrom("a", "b", null), fc.array(fc.constantFrom("x", "y"), { maxLength: 2 }));
const row = fc.dictionary(fc.constantFrom("f1", "f2", "f3", "f4"), fieldValue);

describe("mergeFields properties", () => {
  it("with base equal to server yields the client's data, cleanly", () => {
    fc.assert(
      fc.property(row, row, (base, client) => {
        const { merged, conflictingFields } = mergeFields(base, client, base);
        expect(conflictingFields).toEqual([]);
        expect(sameFields(merged, client)).toBe(true);
      }),
    );
  });

  it("with base equal to client yields the server's data, cleanly", () => {
    fc.assert(
      fc.property(row, row, (base, server) => {
        const { merged, conflictingFields } = mergeFields(base, base, server);
        expect(conflictingFields).toEqual([]);
        expect(sameFields(merged, server)).toBe(true);
      }),
    );
  });

  it("of identical sides has no conflicts and yields that data", () => {
    fc.assert(
      fc.property(row, row, (base, side) => {
        const { merged, conflictingFields } = mergeFields(base, side, structuredClone(side));
        expect(conflictingFields).toEqual([]);
        expect(sameFields(merged, side)).toBe(true);
      }),
    );
  });

  it("never loses a one-sided change, whichever side is called client", () => {
    fc.assert(
      fc.property(row, row, row, (base, a, b) => {
        const ab = mergeFields(base, a, b);
        const ba = mergeFields(base, b, a);
        expect([...ab.conflictingFields].sort()).toEqual([...ba.conflictingFields].sort());
        for (const key of new Set([...Object.keys(a), ...Object.keys(b), ...Object.keys(base)])) {
          const aChanged = !sameValue(a[key], base[key]);
          const bChanged = !sameValue(b[key], base[key]);
          if (aChanged && !bChanged) {
            expect(sameValue(ab.merged[key], a[key])).toBe(true);
            expect(sameValue(ba.merged[key], a[key])).toBe(true);
          }
          if (!ab.conflictingFields.includes(key)) {
            // Outside conflicts the two merges agree: swapping sides changes nothing but who is asked.
            expect(sameValue(ab.merged[key], ba.merged[key])).toBe(true);
          } else {
            expect(sameValue(ab.merged[key], b[key])).toBe(true);
            expect(sameValue(ba.merged[key], a[key])).toBe(true);
          }
        }
      }),
    );
  });

  it("reports a conflict exactly where both sides changed a field to different values", () => {
    fc.assert(
      fc.property(row, row, row, (base, client, server) => {
        const { conflictingFields } = mergeFields(base, client, server);
        for (const key of new Set([...Object.keys(base), ...Object.keys(client), ...Object.keys(server)])) {
          const expected =
            !sameValue(client[key], base[key]) && !sameValue(server[key], base[key]) && !sameValue(client[key], server[key]);
          expect(conflictingFields.includes(key)).toBe(expected);
        }
      }),
    );
  });
});

describe("mergeStaleUpdate", () => {
  const base = { name: "Ana", phone: "111", notes: null, status: "active" };

  it("lays a patch of fields the server left alone over the server's row", () => {
    const server = { ...base, status: "inactive" };
    expect(mergeStaleUpdate(base, { phone: "222", name: "Ana" }, server)).toEqual({
      merged: true,
      data: { name: "Ana", phone: "222", notes: null, status: "inactive" },
      clientFields: ["phone"],
      serverFields: ["status"],
    });
  });

  it("refuses when both sides changed a field, even to the same value", () => {
    expect(mergeStaleUpdate(base, { phone: "222" }, { ...base, phone: "333" })).toMatchObject({ merged: false, overlapping: ["phone"] });
    expect(mergeStaleUpdate(base, { phone: "222" }, { ...base, phone: "222" })).toMatchObject({ merged: false, overlapping: ["phone"] });
  });

  it("refuses when a field that opts out changed on one side and the other changed anything", () => {
    const fixed = new Set(["status"]);
    expect(mergeStaleUpdate(base, { phone: "222" }, { ...base, status: "inactive" }, fixed)).toMatchObject({ merged: false, refused: ["status"] });
    expect(mergeStaleUpdate(base, { status: "pending" }, { ...base, name: "Ana B" }, fixed)).toMatchObject({ merged: false, refused: ["status"] });
    expect(mergeStaleUpdate(base, { phone: "222" }, { ...base, name: "Ana B" }, fixed)).toMatchObject({ merged: true });
  });

  it("counts only the values a patch changes, null and absent alike", () => {
    expect(mergeStaleUpdate(base, { notes: undefined, phone: "111" }, { ...base, phone: "9" })).toMatchObject({ merged: true, clientFields: [], data: { phone: "9" } });
  });

  it("merges exactly when the changed field sets are disjoint (property)", () => {
    const fields = ["a", "b", "c", "d"];
    const edit = fc.dictionary(fc.constantFrom(...fields), fc.integer({ min: 1, max: 3 }));
    fc.assert(
      fc.property(edit, edit, (clientEdit, serverEdit) => {
        const start = { a: 0, b: 0, c: 0, d: 0 };
        const server = { ...start, ...serverEdit };
        const result = mergeStaleUpdate(start, clientEdit, server);
        const clientSide = Object.keys(clientEdit);
        const overlap = clientSide.some((key) => Object.hasOwn(serverEdit, key));
        expect(result.merged).toBe(!overlap);
        if (result.merged) expect(result.data).toEqual({ ...server, ...clientEdit });
      }),
    );
  });
});
