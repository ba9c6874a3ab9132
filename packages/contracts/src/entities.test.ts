import { describe, expect, it } from "vitest";
import {
  anchoredPattern,
  entityDefinitions,
  entitySchemas,
  entityTypes,
  isEntityType,
  systemFields,
  unmergeableFields,
  validateEntityData,
  withoutSystemFields,
  type FieldDefinition,
} from "./entities";

describe("validateEntityData", () => {
  it("accepts a whole row with its required fields", () => {
    const result = validateEntityData("time_entry", { volunteer_id: "v1", date: "2025-10-27", hours: 7.5 }, "full");
    expect(result).toEqual({ ok: true, data: { volunteer_id: "v1", date: "2025-10-27", hours: 7.5 } });
  });

  it("names an unknown field in loc instead of dropping it", () => {
    const result = validateEntityData("volunteer", { name: "Ada", favourite_colour: "teal" }, "full");
    expect(result).toEqual({
      ok: false,
      issues: [{ loc: ["favourite_colour"], msg: "Unknown field 'favourite_colour'", type: "unknown_field" }],
    });
  });

  it("names a field of the wrong type", () => {
    const result = validateEntityData("time_entry", { volunteer_id: "v1", date: "2025-10-27", hours: "eight" }, "full");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.loc)).toEqual([["hours"]]);
  });

  it("checks bounds, enums and dates", () => {
    const bad = validateEntityData("time_entry", { volunteer_id: "v1", date: "2025-13-01", hours: 25 }, "full");
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.map((i) => i.loc).sort()).toEqual([["date"], ["hours"]]);
    const status = validateEntityData("task", { status: "maybe" }, "patch");
    expect(status.ok).toBe(false);
  });

  it("wants required fields in a whole row but not in a patch", () => {
    const full = validateEntityData("task", { description: "x" }, "full");
    expect(full.ok).toBe(false);
    if (!full.ok) expect(full.issues.map((i) => i.loc).sort()).toEqual([["project_id"], ["title"]]);
    expect(validateEntityData("task", { description: "x" }, "patch")).toEqual({ ok: true, data: { description: "x" } });
  });

  it("lets optional fields be cleared with null, but not required ones", () => {
    expect(validateEntityData("volunteer", { phone: null }, "patch").ok).toBe(true);
    expect(validateEntityData("volunteer", { name: null }, "patch").ok).toBe(false);
  });

  it("ignores the system fields a client echoes back", () => {
    const result = validateEntityData(
      "volunteer",
      { id: 123, name: "John Smith", email: "john.smith@example.com", version: 5, updated_at: "whenever", organization_id: "other-org" },
      "patch",
    );
    expect(result).toEqual({ ok: true, data: { name: "John Smith", email: "john.smith@example.com" } });
  });

  it("accepts the source's pulled volunteer once system fields are set aside", () => {
    const data = { id: 456, name: "Jane Doe", email: "jane@example.com", updated_at: "2025-10-27T11:30:00Z" };
    expect(validateEntityData("volunteer", data, "full").ok).toBe(true);
  });

  it("reports a __proto__ key as an unknown field and reads nothing through it", () => {
    const data = JSON.parse('{"__proto__": {"name": "Evil", "notes": "smuggled"}}') as Record<string, unknown>;
    for (const mode of ["full", "patch"] as const) {
      const result = validateEntityData("volunteer", data, mode);
      expect(result.ok, mode).toBe(false);
      if (!result.ok) expect(result.issues).toContainEqual({ loc: ["__proto__"], msg: "Unknown field '__proto__'", type: "unknown_field" });
    }
    expect(({} as Record<string, unknown>)["notes"]).toBeUndefined();
  });

  it("does not let withoutSystemFields change the copy's prototype", () => {
    const data = JSON.parse('{"__proto__": {"name": "Evil"}, "id": 1}') as Record<string, unknown>;
    const own = withoutSystemFields(data);
    expect(Object.getPrototypeOf(own)).toBe(Object.prototype);
    expect(Object.keys(own)).toEqual(["__proto__"]);
    expect(own["name"]).toBeUndefined();
  });
});

describe("text rules", () => {
  const fields: Readonly<Record<string, FieldDefinition>> = entityDefinitions.volunteer.fields;

  it("minLength refuses shorter text, naming the field", () => {
    expect(fields["name"]?.minLength).toBe(1);
    const result = validateEntityData("volunteer", { name: "" }, "full");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues).toEqual([expect.objectContaining({ loc: ["name"], type: "too_small" })]);
    expect(validateEntityData("volunteer", { name: "A" }, "full").ok).toBe(true);
  });

  it("pattern must match the whole value, naming the field", () => {
    expect(fields["phone"]?.pattern).toBeDefined();
    expect(validateEntityData("volunteer", { phone: "+351 912 345 678" }, "patch").ok).toBe(true);
    const result = validateEntityData("volunteer", { phone: "555 then letters" }, "patch");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues).toEqual([expect.objectContaining({ loc: ["phone"], type: "invalid_format" })]);
  });

  it("anchors a pattern at both ends", () => {
    expect(anchoredPattern("[A-Z]{3}").test("EUR")).toBe(true);
    expect(anchoredPattern("[A-Z]{3}").test("EURO")).toBe(false);
    expect(anchoredPattern("a|b").test("ab")).toBe(false);
  });
});

describe("entity definitions", () => {
  it("knows exactly the types the definitions name, and nothing an object inherits", () => {
    expect(entityTypes).toEqual(Object.keys(entityDefinitions));
    for (const type of entityTypes) expect(isEntityType(type)).toBe(true);
    expect(isEntityType("toString")).toBe(false);
    expect(isEntityType("__proto__")).toBe(false);
  });

  it("never lets an entity define a field named like a system field", () => {
    for (const type of entityTypes) {
      const fields = Object.keys(entitySchemas(type).full.shape);
      for (const field of systemFields) expect(fields, type).not.toContain(field);
    }
  });
});

describe("merge opt-outs", () => {
  it("name the fields never merged, or null for an entity that merges nothing", () => {
    const defs = entityDefinitions;
    expect([...(unmergeableFields(defs.volunteer) ?? ["?"])]).toEqual([]);
    expect([...(unmergeableFields(defs.project) ?? ["?"])]).toEqual(["end_date"]);
    expect(unmergeableFields(defs.time_entry)).toBeNull();
  });
});
