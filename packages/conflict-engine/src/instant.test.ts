import { describe, expect, it } from "vitest";
import { compareInstants } from "./instant";

describe("compareInstants", () => {
  it("orders by the moment named, across offsets", () => {
    expect(compareInstants("2024-05-01T10:00:00Z", "2024-05-01T11:30:00+02:00")).toBe(1);
    expect(compareInstants("2024-05-01T10:00:00Z", "2024-05-01T12:00:00+02:00")).toBe(0);
    expect(compareInstants("2024-05-01T09:59:59Z", "2024-05-01T05:00:00-05:00")).toBe(-1);
  });

  it("keeps sub-millisecond order", () => {
    expect(compareInstants("2024-05-01T10:00:00.123456Z", "2024-05-01T10:00:00.123457Z")).toBe(-1);
    expect(compareInstants("2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.500000Z")).toBe(0);
    expect(compareInstants("2024-05-01T10:00:00.1Z", "2024-05-01T10:00:00.09Z")).toBe(1);
  });

  it("accepts a time without seconds", () => {
    expect(compareInstants("2024-05-01T10:00Z", "2024-05-01T10:00:00Z")).toBe(0);
  });

  it("refuses text that names no instant", () => {
    expect(compareInstants("yesterday", "2024-05-01T10:00:00Z")).toBeUndefined();
    expect(compareInstants("2024-05-01T10:00:00", "2024-05-01T10:00:00Z")).toBeUndefined();
    expect(compareInstants("2024-05-01", "2024-05-01T10:00:00Z")).toBeUndefined();
  });
});
