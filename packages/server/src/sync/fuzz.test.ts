import { entityDefinitions, entityTypes } from "@repensar/contracts";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../testing/harness";
import { createActor, type SyncActor } from "./testing";

/*
 * Seeded fuzzing of the push and pull bodies over HTTP: whatever a client sends, the answer is
 * never a 5xx, and every error is the contract's `{detail, code}`. The seed makes a failure
 * reproducible; the time limit keeps the run bounded on a slow machine (fewer cases, same seed).
 */
const SEED = 20_251_010;
const RUNS = 2500;
const TIME_LIMIT_MS = 40_000;

const fieldNames = [...new Set(Object.values(entityDefinitions).flatMap((d) => Object.keys(d.fields)))];

/** Text a hostile or broken client may send: NUL, lone surrogates, long, empty, any unicode. */
const hostileText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", "\u0000", "a\u0000b", "\ud800", "x\udc00", "😀", "%00", "__proto__", "constructor", " ", "x".repeat(300)),
);

/** Instants in and out of every range: year 0, negative years, past 9999, offsets, garbage. */
const instant = fc.oneof(
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()),
  fc
    .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.constantFrom("Z", "+14:00", "-14:00", "+00:00"))
    .map(([y, m, d, z]) => `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}T23:59:59${z}`),
  fc.constantFrom("0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", "not a date"),
  hostileText,
);

const number = fc.oneof(
  fc.integer({ min: -3, max: 5 }),
  fc.integer(),
  fc.constantFrom(2_147_483_647, 2_147_483_648, 2 ** 53, -(2 ** 31) - 1, 1e308, -0, 0.5),
  fc.double(),
);

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileText },
  { weight: 2, arbitrary: number },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: instant },
  { weight: 1, arbitrary: fc.array(hostileText, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

const data = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...fieldNames, "id") }, { weight: 1, arbitrary: hostileText }), anyValue, {
  maxKeys: 6,
});

function pushBody(deviceId: string): fc.Arbitrary<unknown> {
  const change = fc.record(
    {
      entity_type: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...entityTypes) }, { weight: 1, arbitrary: hostileText }),
      entity_id: fc.oneof({ weight: 3, arbitrary: fc.constantFrom("a", "b", "c") }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hostileText }),
      operation: fc.oneof({ weight: 6, arbitrary: fc.constantFrom("CREATE", "UPDATE", "DELETE") }, { weight: 1, arbitrary: anyValue }),
      version: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 4 }) }, { weight: 1, arbitrary: number }, { weight: 1, arbitrary: anyValue }),
      data: fc.oneof({ weight: 6, arbitrary: data }, { weight: 1, arbitrary: anyValue }),
      modified_at: instant,
      modified_by_device_id: fc.oneof(fc.constant(null), hostileText),
      change_id: fc.oneof({ weight: 3, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hostileText }),
    },
    { requiredKeys: ["entity_type", "entity_id", "operation", "data", "version"] },
  );
  return fc.oneof(
    {
      weight: 9,
      arbitrary: fc.record(
        {
          device_id: fc.oneof({ weight: 9, arbitrary: fc.constant(deviceId) }, { weight: 1, arbitrary: hostileText }),
          changes: fc.oneof({ weight: 9, arbitrary: fc.array(change, { maxLength: 5 }) }, { weight: 1, arbitrary: anyValue }),
          atomic: fc.oneof(fc.boolean(), anyValue),
        },
        { requiredKeys: ["device_id", "changes"] },
      ),
    },
    { weight: 1, arbitrary: anyValue },
  );
}

function pullBody(deviceId: string, tokens: () => string[]): fc.Arbitrary<unknown> {
  const since = fc.oneof(
    fc.constant(null),
    instant,
    hostileText,
    fc.nat().map((i) => tokens()[i % Math.max(1, tokens().length)] ?? null),
    fc.tuple(fc.nat(), fc.nat(), fc.string({ minLength: 1, maxLength: 1 })).map(([i, at, c]) => {
      const token = tokens()[i % Math.max(1, tokens().length)] ?? "";
      const where = token.length === 0 ? 0 : at % token.length;
      return token.slice(0, where) + c + token.slice(where + 1);
    }),
  );
  return fc.oneof(
    {
      weight: 9,
      arbitrary: fc.record(
        {
          device_id: fc.oneof({ weight: 9, arbitrary: fc.constant(deviceId) }, { weight: 1, arbitrary: hostileText }),
          entity_types: fc.oneof({ weight: 8, arbitrary: fc.subarray([...entityTypes], { minLength: 1 }) }, { weight: 1, arbitrary: fc.array(hostileText, { maxLength: 3 }) }),
          since,
          limit: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 1, arbitrary: number }, { weight: 1, arbitrary: anyValue }),
        },
        { requiredKeys: ["device_id", "entity_types"] },
      ),
    },
    { weight: 1, arbitrary: anyValue },
  );
}

describe("fuzzed push and pull bodies", () => {
  let server: TestServer;
  let actor: SyncActor;
  const tokens: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    actor = await createActor(server);
  });
  afterAll(async () => {
    await server.close();
  });

  async function answer(path: string, body: unknown): Promise<{ status: number; text: string }> {
    const res = await actor.post(path, JSON.stringify(body));
    const text = await res.text();
    if (res.status >= 400) {
      const parsed = JSON.parse(text) as { code?: unknown; detail?: unknown };
      expect(typeof parsed.code, text).toBe("string");
      expect(parsed.detail, text).toBeDefined();
    }
    return { status: res.status, text };
  }

  it("never answers a pushed body with a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(pushBody(actor.deviceId), async (body) => {
        const { status, text } = await answer("/sync/push", body);
        expect(status, `${JSON.stringify(body).slice(0, 400)} -> ${text.slice(0, 400)}`).toBeLessThan(500);
        if (status === 200) {
          const token = (JSON.parse(text) as { sync_token?: unknown }).sync_token;
          if (typeof token === "string") tokens.push(token);
        }
      }),
      { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
  });

  it("never answers a pulled body with a 5xx", async () => {
    const first = await answer("/sync/pull", { device_id: actor.deviceId, entity_types: [...entityTypes], since: null, limit: 2 });
    tokens.push((JSON.parse(first.text) as { sync_token: string }).sync_token);
    await fc.assert(
      fc.asyncProperty(pullBody(actor.deviceId, () => tokens), async (body) => {
        const { status, text } = await answer("/sync/pull", body);
        expect(status, `${JSON.stringify(body).slice(0, 400)} -> ${text.slice(0, 400)}`).toBeLessThan(500);
        if (status === 200 && tokens.length < 50) tokens.push((JSON.parse(text) as { sync_token: string }).sync_token);
      }),
      { seed: SEED + 1, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
  });
});
