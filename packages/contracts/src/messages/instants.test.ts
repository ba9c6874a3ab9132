import { describe, expect, it } from "vitest";
import { validationIssues } from "../errors";
import { Timestamp } from "./common";
import { PullRequest } from "./pull";
import { PushChange } from "./push";

const change = { entity_type: "volunteer", entity_id: "v1", operation: "UPDATE", version: 1, data: { name: "x" } };

describe("instants PostgreSQL can store", () => {
  it("accepts years 1 to 9999 once in UTC, and refuses the rest naming the field", () => {
    for (const ok of ["0001-01-01T00:00:00Z", "2025-06-01T12:00:00+02:00", "9999-12-31T23:59:59.999Z"]) expect(Timestamp.safeParse(ok).success, ok).toBe(true);
    for (const bad of ["0000-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00"]) {
      const parsed = Timestamp.safeParse(bad);
      expect(parsed.success, bad).toBe(false);
      if (!parsed.success) expect(validationIssues(parsed.error)[0]?.type).toBe("instant_out_of_range");
    }
  });

  it("refuses an ISO `since` past what can be compared with, and leaves tokens alone", () => {
    const pull = (since: string) => PullRequest.safeParse({ device_id: "d", entity_types: ["volunteer"], since });
    expect(pull("0001-01-01T00:00:00Z").success).toBe(true);
    expect(pull("opaque.token-value").success).toBe(true);
    const late = pull("9999-12-31T23:59:59-14:00");
    expect(late.success).toBe(false);
    if (!late.success) expect(validationIssues(late.error, ["body"]).map((i) => i.loc)).toEqual([["body", "since"]]);
  });

  it("brings a pushed modified_at its clock got wrong to the nearest instant kept faithfully", () => {
    const modifiedAt = (value: string) => PushChange.parse({ ...change, modified_at: value }).modified_at;
    expect(modifiedAt("0000-01-01T00:00:00Z")).toBe("0100-01-01T00:00:00.000Z");
    expect(modifiedAt("9999-12-31T23:59:59-14:00")).toBe("9999-12-31T23:59:59.999Z");
    expect(modifiedAt("2025-06-01T12:00:00+02:00")).toBe("2025-06-01T12:00:00+02:00");
    expect(PushChange.safeParse({ ...change, modified_at: "yesterday" }).success).toBe(false);
  });
});
