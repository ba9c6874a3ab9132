import { describe, expect, it } from "vitest";
import { z } from "zod";
import { anchoredPattern, entityDefinitions, entitySchemas, entityTypes, type FieldDefinition } from "./entities";
import * as contract from "./index";
import { openApiDocument } from "./openapi";
import { PROTOCOL_VERSION } from "./protocol";

interface Doc {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[]; requestBody?: unknown }>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> };
}

const doc = openApiDocument() as unknown as Doc;

describe("OpenAPI document", () => {
  it("describes every REST path of the API", () => {
    const expected: [string, string][] = [
      ["/auth/register", "post"],
      ["/auth/login", "post"],
      ["/auth/refresh", "post"],
      ["/auth/logout", "post"],
      ["/auth/me", "get"],
      ["/auth/password", "post"],
      ["/.well-known/jwks.json", "get"],
      ["/sync/device/register", "post"],
      ["/sync/device/list", "get"],
      ["/sync/device/{device_id}/revoke", "post"],
      ["/sync/pull", "post"],
      ["/sync/push", "post"],
      ["/sync/conflicts", "get"],
      ["/sync/conflicts/{conflict_id}/resolve", "post"],
      ["/sync/status", "get"],
      ["/sync/schema", "get"],
    ];
    for (const [path, method] of expected) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });

  it("is OpenAPI 3.1, versioned by the protocol, and survives a JSON round trip", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toBe(String(PROTOCOL_VERSION));
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it("points every $ref at something the document defines", () => {
    const text = JSON.stringify(doc);
    const refs = [...text.matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)];
    expect(refs.length).toBeGreaterThan(0);
    const components = doc.components as unknown as Record<string, Record<string, unknown>>;
    for (const [, section, name] of refs) {
      expect(components[section ?? ""]?.[name ?? ""], `${section}/${name}`).toBeDefined();
    }
  });

  it("documents error responses with ErrorBody, and a bearer scheme", () => {
    const pull = doc.paths["/sync/pull"]?.["post"];
    expect(Object.keys(pull?.responses ?? {})).toEqual(expect.arrayContaining(["200", "400", "401", "403", "410", "422"]));
    expect(JSON.stringify(pull?.responses["403"])).toContain("#/components/schemas/ErrorBody");
    expect(doc.components.securitySchemes["bearerAuth"]).toEqual({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
    expect(doc.paths["/auth/login"]?.["post"]?.security).toEqual([]);
  });

  it("describes requests as clients may send them: pull's limit is optional", () => {
    const pull = doc.components.schemas["PullRequest"];
    expect(pull?.["required"]).toEqual(["device_id", "entity_types"]);
  });

  it("has a component schema for each entity, derived from its definition", () => {
    for (const type of entityTypes) {
      const name = capitalize(type);
      const schema = doc.components.schemas[name];
      expect(schema, name).toBeDefined();
      expect(Object.keys((schema?.["properties"] ?? {}) as object).sort()).toEqual(Object.keys(entitySchemas(type).full.shape).sort());
    }
  });

  it("carries every text rule of the definitions: maxLength, minLength and pattern", () => {
    for (const type of entityTypes) {
      const properties = (doc.components.schemas[capitalize(type)]?.["properties"] ?? {}) as Record<string, unknown>;
      const fields: Readonly<Record<string, FieldDefinition>> = entityDefinitions[type].fields;
      for (const [name, field] of Object.entries(fields)) {
        if (field.kind !== "text" || field.values) continue;
        const text = JSON.stringify(properties[name]);
        if (field.maxLength !== undefined) expect(text, `${type}.${name}`).toContain(`"maxLength":${field.maxLength}`);
        if (field.minLength !== undefined) expect(text, `${type}.${name}`).toContain(`"minLength":${field.minLength}`);
        if (field.pattern !== undefined) expect(text, `${type}.${name}`).toContain(JSON.stringify(anchoredPattern(field.pattern).source).slice(1, -1));
      }
    }
  });
});

function capitalize(type: string): string {
  return type
    .split("_")
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("");
}

describe("every exported schema", () => {
  const schemas: [string, z.ZodType][] = [];
  for (const [name, value] of Object.entries(contract) as [string, unknown][]) {
    if (value instanceof z.ZodType) schemas.push([name, value]);
  }

  it("is found", () => {
    expect(schemas.length).toBeGreaterThan(30);
  });

  it.each(schemas.map(([name]) => name))("%s converts to JSON Schema both ways", (name) => {
    const schema = schemas.find(([n]) => n === name)?.[1];
    if (!schema) throw new Error(`no schema ${name}`);
    for (const io of ["input", "output"] as const) {
      expect(() => z.toJSONSchema(schema, { target: "draft-2020-12", io })).not.toThrow();
    }
  });
});
