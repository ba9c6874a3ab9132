import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sameFields, sameValue } from "./equality";
import { mergeFields, mergePatch } from "./merge";

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
