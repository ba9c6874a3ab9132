import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./testing/harness";

describe("the HTTP surface", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("answers /healthz", async () => {
    const res = await server.fetch("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz with the database checked", async () => {
    const res = await server.fetch("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", checks: { database: "ok" } });
  });

  it("answers an unknown path 404 in the error shape", async () => {
    const res = await server.fetch("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ code: "NOT_FOUND", detail: "No route for GET /nope.", request_id: res.headers.get("x-request-id") });
  });

  it("answers a path parameter that is not valid percent-encoding 400, not a missing route", async () => {
    const res = await server.fetch("/sync/device/%E0%A4%A/revoke", { method: "POST" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: "BAD_REQUEST",
      detail: "The request path is not valid percent-encoding.",
      request_id: res.headers.get("x-request-id"),
    });
  });

  it("answers a known path with the wrong method 405", async () => {
    const res = await server.fetch("/healthz", { method: "POST" });
    expect(res.status).toBe(405);
    expect(((await res.json()) as { code: string }).code).toBe("METHOD_NOT_ALLOWED");
  });

  it("serves the OpenAPI document, gzipped when the client accepts it", async () => {
    const res = await server.fetch("/openapi.json", { headers: { "accept-encoding": "gzip" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.paths)).toContain("/sync/pull");
  });

  it("times answered requests by route and status at /metrics", async () => {
    await server.fetch("/healthz");
    await server.fetch("/nope");
    const text = await (await server.fetch("/metrics")).text();
    const count = (route: string, status: number) =>
      Number(new RegExp(`repensar_http_request_duration_seconds_count\\{[^}]*route="${route}",status="${status}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    expect(count("/healthz", 200)).toBeGreaterThanOrEqual(1);
    expect(count("unmatched", 404)).toBeGreaterThanOrEqual(1);
    expect(text).toContain("# TYPE repensar_http_request_duration_seconds histogram");
  });

  it("serves the docs page and its assets from this origin, under a CSP without eval or inline code", async () => {
    const res = await server.fetch("/docs");
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe|https?:/);
    const page = await res.text();
    expect(page).toContain("/openapi.json");
    const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(assets).toEqual(["/docs/swagger-ui.css", "/openapi.json", "/docs/swagger-ui-bundle.js", "/docs/init.js"]);
    for (const path of assets.filter((a) => a.startsWith("/docs/"))) {
      const asset = await server.fetch(path, { headers: { "accept-encoding": "gzip" } });
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get("content-encoding"), path).toBe("gzip");
      expect((await asset.text()).length, path).toBeGreaterThan(100);
    }
    expect(await (await server.fetch("/docs/init.js")).text()).toContain('fetch("/openapi.json")');
  });
});

describe("readiness with a store that is down", () => {
  it("is 503 and names what is down", async () => {
    const { createMemoryStore } = await import("./kv/memory");
    const broken = { ...createMemoryStore(), kind: "redis" as const, ping: () => Promise.reject(new Error("down")) };
    const server = await startTestServer({}, { kv: broken });
    try {
      const res = await server.fetch("/readyz");
      expect(res.status).toBe(503);
      const body = (await res.json()) as { checks: Record<string, string>; detail: string };
      expect(body.checks).toEqual({ database: "ok", redis: "down" });
      expect(body.detail).toMatch(/redis is not reachable/);
    } finally {
      await server.close();
    }
  });
});
