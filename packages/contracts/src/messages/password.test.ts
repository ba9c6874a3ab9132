import { describe, expect, it } from "vitest";
import { ChangePasswordRequest } from "./password";

describe("ChangePasswordRequest", () => {
  it("holds a new password to the registration policy, but not the current one", () => {
    expect(ChangePasswordRequest.safeParse({ current_password: "old", new_password: "12345678" }).success).toBe(true);
    expect(ChangePasswordRequest.safeParse({ current_password: "old", new_password: "1234567" }).success).toBe(false);
    expect(ChangePasswordRequest.safeParse({ current_password: "", new_password: "12345678" }).success).toBe(false);
  });
});
