import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyValueStore } from "./store";

/** One suite for every KeyValueStore implementation. */
export function keyValueSuite(name: string, make: () => KeyValueStore): void {
  describe(`key-value store: ${name}`, () => {
    let store: KeyValueStore;
    beforeAll(() => {
      store = make();
    });
    afterAll(async () => {
      await store.close();
    });

    it("counts hits within a window and reports the time left", async () => {
      const key = `hits:${Math.random()}`;
      expect((await store.hit(key, 60_000)).count).toBe(1);
      const second = await store.hit(key, 60_000);
      expect(second.count).toBe(2);
      expect(second.resetMs).toBeGreaterThan(0);
      expect(second.resetMs).toBeLessThanOrEqual(60_000);
    });

    it("takes a hit back without reviving a counter that is gone", async () => {
      const key = `release:${Math.random()}`;
      await store.hit(key, 60_000);
      await store.hit(key, 60_000);
      await store.release(key);
      expect((await store.hit(key, 60_000)).count).toBe(2);
      const gone = `release-gone:${Math.random()}`;
      await store.release(gone);
      expect(await store.get(gone)).toBeNull();
    });

    it("forgets a counter after its window", async () => {
      const key = `short:${Math.random()}`;
      await store.hit(key, 20);
      await new Promise((r) => setTimeout(r, 60));
      expect((await store.hit(key, 20)).count).toBe(1);
    });

    it("sets, reads, expires and deletes values", async () => {
      await store.set("a", "1");
      expect(await store.get("a")).toBe("1");
      await store.del("a");
      expect(await store.get("a")).toBeNull();
      await store.set("b", "2", 20);
      await new Promise((r) => setTimeout(r, 60));
      expect(await store.get("b")).toBeNull();
    });

    it("delivers published messages to subscribers until they unsubscribe", async () => {
      const received: string[] = [];
      const unsubscribe = await store.subscribe("pokes", (m) => received.push(m));
      await new Promise((r) => setTimeout(r, 50));
      await store.publish("pokes", "one");
      await expect.poll(() => received).toEqual(["one"]);
      await unsubscribe();
      await store.publish("pokes", "two");
      await new Promise((r) => setTimeout(r, 50));
      expect(received).toEqual(["one"]);
    });
  });
}
