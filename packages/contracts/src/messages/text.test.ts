import { describe, expect, it } from "vitest";
import { validationIssues } from "../errors";
import { LoginRequest, RegisterRequest } from "./auth";
import { isStorableText, Text } from "./common";
import { DeviceRegisterRequest } from "./devices";
import { PullRequest } from "./pull";

const unstorable = ["nul\u0000byte", "lone \ud800 high", "lone \udc00 low", "\udfff"];

describe("the one rule for text PostgreSQL can store", () => {
  it("refuses NUL and lone surrogates, and keeps every other string, astral characters included", () => {
    for (const value of unstorable) expect(isStorableText(value), JSON.stringify(value)).toBe(false);
    for (const value of ["", "plain", "emoji 😀", "\ud83d\ude00", "tab\tnewline\n", "ümlaut"]) expect(isStorableText(value)).toBe(true);
    expect(Text.safeParse("a\u0000").success).toBe(false);
  });

  it("names the field wherever a message carries such text", () => {
    const cases: [string, { safeParse(v: unknown): { success: boolean; error?: unknown } }, Record<string, unknown>, string][] = [
      ["register name", RegisterRequest, { email: "a@example.org", password: "long enough", name: "x" }, "name"],
      ["login device_id", LoginRequest, { email: "a@example.org", password: "p", device_id: "d" }, "device_id"],
      ["device name", DeviceRegisterRequest, { device_id: "d", device_name: "n", device_type: "android", platform: "android" }, "device_name"],
      ["device push token", DeviceRegisterRequest, { device_id: "d", device_name: "n", device_type: "android", platform: "android" }, "push_token"],
      ["pull device_id", PullRequest, { device_id: "d", entity_types: ["volunteer"] }, "device_id"],
    ];
    for (const [what, schema, valid, field] of cases) {
      expect(schema.safeParse(valid).success, what).toBe(true);
      for (const bad of unstorable) {
        const parsed = schema.safeParse({ ...valid, [field]: bad });
        expect(parsed.success, what).toBe(false);
        const issues = validationIssues(parsed.error as never, ["body"]);
        expect(issues, what).toContainEqual(expect.objectContaining({ loc: ["body", field], type: "string_unstorable" }));
      }
    }
  });
});
