import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, runUntilExit, startConsole, type ConsoleProcess } from "./server-process";

describe("the production build on the embedded default", () => {
  let server: ConsoleProcess;
  beforeAll(async () => {
    server = await startConsole();
  });
  afterAll(async () => {
    await server.stop();
  });

  it("serves /healthz", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("serves /readyz with the embedded database checked", async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(await res.json()).toEqual({ status: "ok", checks: { database: "ok" } });
  });

  it("serves the OpenAPI document gzipped and the docs page", async () => {
    const res = await fetch(`${server.url}/openapi.json`, { headers: { "accept-encoding": "gzip" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/auth/login", "/sync/push", "/sync/pull"]));
    expect((await fetch(`${server.url}/docs`)).status).toBe(200);
  });

  it("answers malformed JSON with 400, never a 5xx", async () => {
    const res = await fetch(`${server.url}/auth/login`, { method: "POST", body: "{", headers: { "content-type": "application/json" } });
    expect(res.status).toBeLessThan(500);
  });
});

describe("configuration checked at start", () => {
  it.each([
    [{ PORT: "abc" }, /PORT/],
    [{ DATABASE_URL: "mysql://localhost/x" }, /DATABASE_URL must be a postgres:\/\/ URL/],
    [{ ALLOW_REGISTRATION: "perhaps" }, /ALLOW_REGISTRATION/],
  ])("stops with a sentence naming the variable: %j", async (bad, pattern) => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), "repensar-bad-"));
    const { code, output } = await runUntilExit({ PORT: String(port), DATA_DIR: dataDir, HOST: "127.0.0.1", ...bad });
    expect(code).toBe(1);
    expect(output).toMatch(pattern);
  });
});
