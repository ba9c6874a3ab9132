import { describe, expect, it } from "vitest";
import type { ConflictCase } from "./conflict";
import { conflictPolicyOf, suggestResolution } from "./policy";

const base = { name: "Ana", phone: "000" };
const separateEdits: ConflictCase = {
  conflict_type: "version_mismatch",
  base_data: base,
  client_data: { notes: "allergic to nuts" },
  server_data: { ...base, phone: "111" },
};

describe("suggestResolution", () => {
  it("merges a volunteer's separate edits", () => {
    expect(conflictPolicyOf("volunteer")).toBe("merge");
    expect(suggestResolution("volunteer", separateEdits)).toEqual({
      resolution: "manual",
      merged_data: { name: "Ana", phone: "111", notes: "allergic to nuts" },
    });
  });

  it("keeps the server's time entry", () => {
    expect(conflictPolicyOf("time_entry")).toBe("server_wins");
    expect(suggestResolution("time_entry", separateEdits)).toEqual({ resolution: "server_wins" });
  });
});
