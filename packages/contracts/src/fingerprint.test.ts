import { describe, expect, it } from "vitest";
import { entityDefinitions, entityTypes, FieldKind } from "./entities";
import { canonicalJson, entityFingerprint, schemaFingerprints, syncSchema } from "./fingerprint";
import { SyncSchemaResponse } from "./messages/schema";

const volunteer = entityDefinitions.volunteer;

describe("entity fingerprints", () => {
  it("are pinned: the same definition hashes alike in every run, process and platform", () => {
    // Pinned to the first 16 hex digits of SHA-256('{"name":{"kind":"text","maxLength":200,"required":true}}'),
    // as node:crypto computes it: a client in any language can reproduce it from the served fields.
    expect(schemaFingerprints().volunteer).toMatch(/^[0-9a-f]{16}$/);
    expect(entityFingerprint({ fields: { name: { kind: FieldKind.Text, required: true, maxLength: 200 } } })).toBe(
      "90b4475f645c3776",
    );
    expect(entityFingerprint(volunteer)).toBe(schemaFingerprints().volunteer);
  });

  it("ignore the order fields and options were written in", () => {
    const reordered = Object.fromEntries(
      Object.entries(volunteer.fields)
        .reverse()
        .map(([name, field]) => [name, Object.fromEntries(Object.entries(field).reverse())]),
    );
    expect(entityFingerprint({ fields: reordered })).toBe(entityFingerprint(volunteer));
  });

  it("change when a field is added, removed, retyped or constrained differently", () => {
    const base = entityFingerprint(volunteer);
    const { phone: _phone, ...withoutPhone } = volunteer.fields;
    const variants = [
      { ...volunteer.fields, birth_date: { kind: FieldKind.Date } },
      withoutPhone,
      { ...volunteer.fields, phone: { kind: FieldKind.Integer } },
      { ...volunteer.fields, name: { ...volunteer.fields.name, maxLength: 100 } },
      { ...volunteer.fields, status: { ...volunteer.fields.status, values: ["active", "inactive"] } },
      { ...volunteer.fields, phone: { ...volunteer.fields.phone, required: true } },
    ];
    const fingerprints = variants.map((fields) => entityFingerprint({ fields }));
    for (const fingerprint of fingerprints) expect(fingerprint).not.toBe(base);
    expect(new Set(fingerprints).size).toBe(variants.length);
  });

  it("change when a field or the whole entity opts out of server merges", () => {
    const base = entityFingerprint(volunteer);
    const fieldOptOut = entityFingerprint({ fields: { ...volunteer.fields, notes: { ...volunteer.fields.notes, merge: false } } });
    const entityOptOut = entityFingerprint({ fields: volunteer.fields, merge: false });
    expect(new Set([base, fieldOptOut, entityOptOut]).size).toBe(3);
    expect(entityFingerprint({ fields: volunteer.fields, merge: undefined })).toBe(base);
  });

  it("differ between the entity types of this contract", () => {
    expect(new Set(Object.values(schemaFingerprints())).size).toBe(entityTypes.length);
  });

  it("canonical JSON sorts keys at every depth and keeps array order", () => {
    expect(canonicalJson({ b: [2, 1], a: { d: 1, c: "x" }, skip: undefined })).toBe('{"a":{"c":"x","d":1},"b":[2,1]}');
  });
});

describe("GET /sync/schema body", () => {
  const body = syncSchema();

  it("is a valid SyncSchemaResponse naming every entity type with its fingerprint", () => {
    expect(SyncSchemaResponse.parse(body)).toEqual(body);
    expect(body.entities.map((e) => e.entity_type)).toEqual(entityTypes);
    expect(body.schema_fingerprints).toEqual(schemaFingerprints());
  });

  it("serves each definition's fields whole, so a client hashing them gets the server's fingerprint", () => {
    for (const entity of body.entities) {
      expect(entity.fields).toEqual(entityDefinitions[entity.entity_type as keyof typeof entityDefinitions].fields);
      expect(entityFingerprint({ fields: entity.fields, merge: entity.merge })).toBe(entity.fingerprint);
    }
  });
});
