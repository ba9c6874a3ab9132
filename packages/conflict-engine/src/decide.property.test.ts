import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decide, type IncomingChange, type ServerRow } from "./decide";
import { sameValue } from "./equality";

const value = fc.oneof(fc.constantFrom("a", "b", null), fc.integer({ min: 0, max: 2 }));
const fields = fc.dictionary(fc.constantFrom("name", "phone", "notes"), value);
const device = fc.constantFrom("dev-a", "dev-b");

const change: fc.Arbitrary<IncomingChange> = fc.record(
  {
    operation: fc.constantFrom("CREATE", "UPDATE", "DELETE"),
    version: fc.integer({ min: 0, max: 5 }),
    data: fields,
    device_id: device,
    change_id: fc.constantFrom("c-1"),
  },
  { requiredKeys: ["operation", "version", "data"] },
);
const row: fc.Arbitrary<ServerRow> = fc.record({
  version: fc.integer({ min: 1, max: 5 }),
  deleted: fc.boolean(),
  data: fields,
  modified_by_device_id: fc.option(device),
});
const current = fc.option(row);

describe("decide properties", () => {
  it("applies an UPDATE or DELETE only when it is based on the row's current version", () => {
    fc.assert(
      fc.property(change, current, (c, r) => {
        const decision = decide(c, r);
        if (decision.outcome === "apply" && c.operation !== "CREATE") expect(c.version).toBe(r?.version);
      }),
    );
  });

  it("writes version 1 for an insert and the current version + 1 otherwise", () => {
    fc.assert(
      fc.property(change, current, (c, r) => {
        const decision = decide(c, r);
        if (decision.outcome !== "apply") return;
        expect(decision.version).toBe(decision.write === "insert" ? 1 : (r?.version ?? Number.NaN) + 1);
        expect(decision.write === "insert").toBe(r === null);
      }),
    );
  });

  it("answers a no-op only with the version the server already holds", () => {
    fc.assert(
      fc.property(change, current, (c, r) => {
        const decision = decide(c, r);
        if (decision.outcome === "noop") expect(decision.version).toBe(r?.version);
      }),
    );
  });

  it("applies every live-row UPDATE at the current version, keeping unpatched fields", () => {
    fc.assert(
      fc.property(fields, row, (patch, r) => {
        const liveRow = { ...r, deleted: false };
        const decision = decide({ operation: "UPDATE", version: r.version, data: patch }, liveRow);
        expect(decision.outcome).toBe("apply");
        if (decision.outcome !== "apply") return;
        for (const key of new Set([...Object.keys(patch), ...Object.keys(r.data)])) {
          expect(sameValue(decision.data[key], key in patch ? patch[key] : r.data[key])).toBe(true);
        }
      }),
    );
  });

  it("is not_found for an UPDATE or DELETE of a missing row, whatever its version", () => {
    fc.assert(
      fc.property(change, (c) => {
        fc.pre(c.operation !== "CREATE");
        expect(decide(c, null)).toEqual({ outcome: "not_found" });
      }),
    );
  });

  it("treats a replay of an applied change as a no-op at the version it produced", () => {
    fc.assert(
      fc.property(change, current, (c, r) => {
        const first = decide(c, r);
        if (first.outcome !== "apply") return;
        const after: ServerRow = {
          version: first.version,
          deleted: first.write === "delete",
          data: first.data,
          modified_by_device_id: c.device_id ?? null,
        };
        // A CREATE replays by its data, a DELETE by the tombstone, an UPDATE without change_id by being the device's own last write.
        const { change_id: _ignored, ...withoutChangeId } = c;
        const again = decide(withoutChangeId, after);
        if (c.operation !== "UPDATE" || c.device_id !== undefined) {
          expect(again).toEqual({ outcome: "noop", version: first.version });
        }
      }),
    );
  });
});
