import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createUuidV7Generator, isUuidV7, uuidv7, uuidv7Time } from "./id";

describe("uuidv7", () => {
  it("is a version 7, variant 10 UUID carrying its creation time", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 2 }), (ms) => {
        const id = createUuidV7Generator()(ms);
        expect(isUuidV7(id)).toBe(true);
        expect(uuidv7Time(id)).toBe(ms);
      }),
    );
    const before = Date.now();
    const time = uuidv7Time(uuidv7());
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });

  it("sorts in creation order, within one millisecond and when the clock steps back", () => {
    const next = createUuidV7Generator();
    const ids = [
      ...Array.from({ length: 5000 }, () => next(1_700_000_000_000)),
      ...Array.from({ length: 10 }, () => next(1_600_000_000_000)),
      ...Array.from({ length: 10 }, () => next()),
    ];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
