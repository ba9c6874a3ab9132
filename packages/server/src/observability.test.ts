import type { PullResponse } from "@repensar/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quantile } from "./sync/metrics";
import { create, push } from "./sync/sync-suite";
import { createActor } from "./sync/testing";
import { startTestServer, type TestServer } from "./testing/harness";
import { capturedLogger } from "./testing/log";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/**
 * The Prometheus text format (0.0.4), as strictly as Prometheus reads it: every line a comment, a HELP, a TYPE or a sample;
 * each family typed once, before its samples; label values quoted with the format's escapes;
 * histogram buckets cumulative and ending in `+Inf` equal to `_count`. Throws on anything else.
 */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split("\n");
  for (const [index, line] of lines.entries()) {
    const fail = (why: string) => new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    if (line === "") continue;
    if (line.startsWith("#")) {
      const typed = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (typed) {
        const [, name = "", type = ""] = typed;
        if (!NAME.test(name) || !TYPES.has(type)) throw fail("bad TYPE");
        if (types.has(name)) throw fail("family typed twice");
        types.set(name, type);
        continue;
      }
      if (line.startsWith("# HELP ")) {
        if (!NAME.test(line.slice(7).split(" ", 1)[0] ?? "")) throw fail("bad HELP");
        continue;
      }
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!match) throw fail("not a sample");
    const [, name = "", , rawLabels = "", rawValue = ""] = match;
    const labels: Record<string, string> = {};
    let rest = rawLabels;
    while (rest.length > 0) {
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
      if (!label) throw fail("bad labels");
      const [whole, key = "", value = ""] = label;
      if (key in labels) throw fail("label twice");
      labels[key] = value.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
      rest = rest.slice(whole.length);
    }
    // As Prometheus reads values (Go's ParseFloat): NaN and Inf in any case (prom-client writes "Nan").
    if (!/^([+-]?(nan|inf)|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/i.test(rawValue)) throw fail("bad value");
    const special = rawValue.toLowerCase().replace(/^\+/, "");
    const value = special === "inf" ? Infinity : special === "-inf" ? -Infinity : special.endsWith("nan") ? NaN : Number(rawValue);
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    if (!types.has(family)) throw fail("sample before its TYPE");
    if (name !== family && types.get(family) !== "histogram" && types.get(family) !== "summary") throw fail("suffix on a plain family");
    samples.push({ name, labels, value });
  }
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((s) => s.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}: a bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      const counts = buckets.map((b) => b.value);
      if (counts.some((c, i) => i > 0 && c < (counts[i - 1] ?? 0))) throw new Error(`${family}${key}: buckets are not cumulative`);
      if (buckets.at(-1)?.labels["le"] !== "+Inf") throw new Error(`${family}${key}: no +Inf bucket`);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === key);
      if (count?.value !== counts.at(-1)) throw new Error(`${family}${key}: _count is not the +Inf bucket`);
    }
  }
  return { types, samples };
}

const durationCount = (samples: Sample[], labels: Record<string, string>) =>
  samples
    .filter((s) => s.name === "repensar_http_request_duration_seconds_count" && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);

describe("/metrics", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("parses as Prometheus text and holds the latency histograms, sync counters and process metrics after traffic", async () => {
    const actor = await createActor(server);
    await push(actor, [create("m1", { name: "Metered" })]);
    await actor.settle();
    const full = await actor.call<PullResponse>("/sync/pull", { device_id: actor.deviceId, entity_types: ["volunteer"], since: null });
    expect(full.changes.length).toBe(1);
    const empty = await actor.call<PullResponse>("/sync/pull", { device_id: actor.deviceId, entity_types: ["volunteer"], since: full.sync_token });
    expect(empty.changes.length).toBe(0);
    const login = await server.fetch("/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "nobody@example.org", password: "wrong-password" }),
    });
    expect(login.status).toBe(401);

    const res = await server.fetch("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const { types, samples } = parsePrometheus(await res.text());

    expect(types.get("repensar_http_request_duration_seconds")).toBe("histogram");
    expect(durationCount(samples, { operation: "push", route: "/sync/push", method: "POST", status: "200" })).toBe(1);
    expect(durationCount(samples, { operation: "pull", route: "/sync/pull", status: "200" })).toBe(1);
    expect(durationCount(samples, { operation: "empty_poll", route: "/sync/pull", status: "200" })).toBe(1);
    expect(durationCount(samples, { operation: "auth", route: "/auth/login", status: "401" })).toBe(1);
    const value = (name: string) => samples.find((s) => s.name === name)?.value;
    expect(value("repensar_sync_changes_pushed_total")).toBe(1);
    expect(value("repensar_sync_changes_applied_total")).toBe(1);
    expect(value("repensar_sync_changes_pulled_total")).toBe(1);
    expect(value("repensar_sync_changes_conflict_total")).toBe(0);
    expect(value("repensar_sync_changes_merged_total")).toBe(0);
    expect(value("repensar_sync_event_streams")).toBe(0);
    expect(value("repensar_db_pool_max")).toBeGreaterThanOrEqual(1);
    for (const name of ["process_cpu_user_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes"]) {
      expect(types.has(name), name).toBe(true);
    }
    expect(types.has("nodejs_gc_duration_seconds")).toBe(true);
  });

  it("counts each app apart: a second server in the same process starts from zero", async () => {
    const other = await startTestServer();
    try {
      const { samples } = parsePrometheus(await (await other.fetch("/metrics")).text());
      expect(durationCount(samples, { operation: "push" })).toBe(0);
      expect(samples.find((s) => s.name === "repensar_sync_pushes_total")?.value).toBe(0);
    } finally {
      await other.close();
    }
  });

  it("counts open event streams", async () => {
    const actor = await createActor(server);
    const controller = new AbortController();
    const stream = await server.fetch("/sync/events", { headers: actor.headers, signal: controller.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body?.getReader();
    await reader?.read();
    const open = parsePrometheus(await (await server.fetch("/metrics")).text());
    expect(open.samples.find((s) => s.name === "repensar_sync_event_streams")?.value).toBe(1);
    controller.abort();
    await reader?.cancel().catch(() => {});
  });
});

describe("/metrics with METRICS_TOKEN set", () => {
  const metricsToken = "metrics-token-0123456789abcdef";
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ metricsToken });
  });
  afterAll(async () => {
    await server.close();
  });

  it("answers 401 without the token or with another, and 200 with it", async () => {
    const without = await server.fetch("/metrics");
    expect(without.status).toBe(401);
    expect(without.headers.get("www-authenticate")).toBe("Bearer");
    expect(((await without.json()) as { code: string }).code).toBe("UNAUTHORIZED");
    const wrong = await server.fetch("/metrics", { headers: { authorization: `Bearer ${metricsToken}x` } });
    expect(wrong.status).toBe(401);
    const right = await server.fetch("/metrics", { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain("# TYPE repensar_http_request_duration_seconds histogram");
  });
});

describe("request ids and the request log", () => {
  const captured = capturedLogger("info");
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { log: captured.log });
  });
  afterAll(async () => {
    await server.close();
  });

  it("keeps a client's X-Request-Id: in the response header and the error body", async () => {
    const res = await server.fetch("/nope", { headers: { "x-request-id": "client-chose-this-1" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("client-chose-this-1");
    expect(await res.json()).toEqual({ code: "NOT_FOUND", detail: "No route for GET /nope.", request_id: "client-chose-this-1" });
  });

  it("makes one when the client sent none or one that is not a short token, and sends it on success too", async () => {
    for (const sent of [undefined, "has spaces in it", "x".repeat(200), "short"]) {
      const res = await server.fetch("/nope", { headers: sent === undefined ? {} : { "x-request-id": sent } });
      const id = res.headers.get("x-request-id");
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(((await res.json()) as { request_id: string }).request_id).toBe(id);
    }
    const ok = await server.fetch("/healthz");
    expect(ok.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("writes one line per request with its id, route, status and duration", async () => {
    await server.fetch("/healthz", { headers: { "x-request-id": "line-per-request-1" } });
    const line = captured.lines().find((l) => l["request_id"] === "line-per-request-1");
    expect(line).toMatchObject({ level: "info", message: "request", method: "GET", route: "/healthz", path: "/healthz", status: 200 });
    expect(typeof line?.["duration_ms"]).toBe("number");
    expect(typeof line?.["time"]).toBe("string");
  });

  it("never writes the token, password or push token of a failed request", async () => {
    const token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJzZWNyZXQifQ.c2lnbmF0dXJlLXNlY3JldA";
    const password = "correct-horse-battery-staple";
    const pushToken = "fcm-push-token-that-must-stay-secret";
    const answers = [
      await server.fetch("/sync/pull", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "x-request-id": "failed-request-1" },
        body: JSON.stringify({ device_id: "d", entity_types: ["volunteer"], since: null }),
      }),
      await server.fetch(`/sync/events?access_token=${token}`, { headers: { "x-request-id": "failed-request-2" } }),
      await server.fetch("/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "failed-request-3" },
        body: JSON.stringify({ email: "nobody@example.org", password }),
      }),
      await server.fetch("/sync/device/register", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "x-request-id": "failed-request-4" },
        body: JSON.stringify({ device_id: "d", device_name: "Phone", device_type: "android", platform: "android", push_token: pushToken }),
      }),
    ];
    for (const res of answers) expect(res.status).toBe(401);
    const text = captured.text();
    for (const id of ["failed-request-1", "failed-request-2", "failed-request-3", "failed-request-4"]) {
      expect(captured.lines().some((l) => l["request_id"] === id && l["status"] === 401)).toBe(true);
    }
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split(".")[2]);
    expect(text).not.toContain(password);
    expect(text).not.toContain(pushToken);
  });
});

describe("quantiles from histogram buckets", () => {
  it("interpolates inside the bucket the rank falls in, as histogram_quantile does", () => {
    const buckets = [
      [0.001, 0],
      [0.005, 50],
      [0.01, 90],
      [0.1, 100],
      [Infinity, 100],
    ] as const;
    expect(quantile(0.5, buckets)).toBeCloseTo(0.005);
    expect(quantile(0.25, buckets)).toBeCloseTo(0.003);
    expect(quantile(0.99, buckets)).toBeCloseTo(0.091);
    expect(quantile(0.5, [[0.1, 0], [Infinity, 0]])).toBeNull();
    expect(quantile(0.99, [[0.1, 1], [Infinity, 10]])).toBe(0.1);
  });
});
