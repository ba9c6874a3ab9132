import { describe, expect, it } from "vitest";
import { applyPatch } from "./decide";
import { sameFields, sameValue } from "./equality";
import { mergeFields } from "./merge";

describe("sameValue", () => {
  it("compares lists and objects by content", () => {
    expect(sameValue(["a", "b"], ["a", "b"])).toBe(true);
    expect(sameValue(["a", "b"], ["b", "a"])).toBe(false);
    expect(sameValue({ x: [1, { y: 2 }] }, { x: [1, { y: 2 }] })).toBe(true);
    expect(sameValue({ x: 1 }, { x: 2 })).toBe(false);
    expect(sameValue([1], { 0: 1 })).toBe(false);
  });

  it("treats a missing value and null as the same", () => {
    expect(sameValue(undefined, null)).toBe(true);
    expect(sameValue(null, "")).toBe(false);
    expect(sameValue(0, null)).toBe(false);
    expect(sameValue(false, undefined)).toBe(false);
  });

  it("compares dates by instant and numbers by value", () => {
    expect(sameValue(new Date("2024-01-01T00:00:00Z"), new Date("2024-01-01T01:00:00+01:00"))).toBe(true);
    expect(sameValue(new Date(0), 0)).toBe(false);
    expect(sameValue(0, -0)).toBe(true);
    expect(sameValue(Number.NaN, Number.NaN)).toBe(true);
    expect(sameValue(1, "1")).toBe(false);
  });
});

describe("sameFields", () => {
  it("ignores optional fields left out on one side and null on the other", () => {
    expect(sameFields({ name: "Ana" }, { name: "Ana", notes: null })).toBe(true);
    expect(sameFields({ name: "Ana" }, { name: "Ana", notes: "x" })).toBe(false);
  });
});

describe("a __proto__ key in row data", () => {
  it("stays an ordinary field through a patch and a merge", () => {
    const patch = JSON.parse('{"__proto__": {"name": "Mallory"}}') as Record<string, unknown>;
    const patched = applyPatch({ phone: "1" }, patch);
    expect(Object.getPrototypeOf(patched)).toBe(Object.prototype);
    expect(Object.keys(patched)).toEqual(["phone", "__proto__"]);
    expect(patched.name).toBeUndefined();
    const { merged } = mergeFields({}, patch, { phone: "1" });
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged)).toEqual(["phone", "__proto__"]);
  });
});
