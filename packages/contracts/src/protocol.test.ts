import { describe, expect, it } from "vitest";
import { AppError } from "./errors";
import { MIN_SUPPORTED_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION, protocolVersionOf } from "./protocol";

describe("protocol version", () => {
  it("never supports more than it speaks", () => {
    expect(MIN_SUPPORTED_PROTOCOL_VERSION).toBeLessThanOrEqual(PROTOCOL_VERSION);
    expect(PROTOCOL_HEADER).toBe("X-Repensar-Protocol");
  });

  it("serves a client that sends no header as the source's version 1", () => {
    expect(protocolVersionOf(null)).toBe(1);
    expect(protocolVersionOf(undefined)).toBe(1);
    expect(protocolVersionOf("  ")).toBe(1);
    expect(protocolVersionOf(String(PROTOCOL_VERSION))).toBe(PROTOCOL_VERSION);
  });

  it("refuses a version it does not speak, or garbage, with UNSUPPORTED_PROTOCOL_VERSION", () => {
    for (const header of [String(PROTOCOL_VERSION + 1), "0", "-1", "1.5", "v1", "abc"]) {
      let thrown: unknown;
      try {
        protocolVersionOf(header);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, header).toBeInstanceOf(AppError);
      if (thrown instanceof AppError) {
        expect(thrown.code).toBe("UNSUPPORTED_PROTOCOL_VERSION");
        expect(thrown.status).toBe(400);
      }
    }
  });
});
