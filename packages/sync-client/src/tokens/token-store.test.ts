import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as FsPromises from "node:fs/promises";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createFileTokenStore } from "./file-token-store";
import { createMemoryTokenStore, type Tokens, type TokenStore } from "./token-store";

/** Every path whose handle was fsynced, in order. */
const synced = vi.hoisted((): string[] => []);
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        synced.push(String(args[0]));
        await sync();
      };
      return handle;
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), "sync-client-tokens-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const tokens: Tokens = { access_token: "eyJ.access", refresh_token: "opaque-refresh", expires_at: "2030-01-01T00:00:00.000Z" };

function tokenStoreSuite(name: string, make: () => TokenStore) {
  describe(`TokenStore: ${name}`, () => {
    it("loads nothing before the first save", async () => {
      expect(await make().load()).toBeNull();
    });

    it("saves, replaces and clears", async () => {
      const store = make();
      await store.save(tokens);
      expect(await store.load()).toEqual(tokens);
      const rotated = { ...tokens, access_token: "eyJ.next", refresh_token: "rotated", expires_at: null };
      await store.save(rotated);
      expect(await store.load()).toEqual(rotated);
      await store.clear();
      expect(await store.load()).toBeNull();
      await store.clear();
    });
  });
}

tokenStoreSuite("memory", () => createMemoryTokenStore());
tokenStoreSuite("file", () => createFileTokenStore(join(dir, `t${++files}`, "tokens.json")));

describe("file token store", () => {
  it.skipIf(process.platform === "win32")("is readable by its owner only, and leaves no temporary file", async () => {
    const sub = join(dir, "modes");
    const path = join(sub, "tokens.json");
    const store = createFileTokenStore(path);
    await store.save(tokens);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(sub).mode & 0o777).toBe(0o700);
    await store.save({ ...tokens, refresh_token: "second" });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(sub)).toEqual(["tokens.json"]);
  });

  it("makes a save durable: the new file, then the directory entry its rename wrote", async () => {
    const sub = join(dir, "durable");
    const path = join(sub, "tokens.json");
    synced.length = 0;
    await createFileTokenStore(path).save(tokens);
    expect(synced).toHaveLength(2);
    expect(synced[0]).toMatch(/tokens\.json\.[0-9a-f]+\.tmp$/);
    expect(synced[1]).toBe(sub);
  });

  it("tightens a file that was left readable by others", async () => {
    const path = join(dir, "loose.json");
    writeFileSync(path, JSON.stringify(tokens), { mode: 0o644 });
    await createFileTokenStore(path).save(tokens);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("refuses a file that does not hold tokens", async () => {
    const path = join(dir, "garbage.json");
    writeFileSync(path, "{not json");
    await expect(createFileTokenStore(path).load()).rejects.toMatchObject({ code: "CORRUPT_DATA" });
    writeFileSync(path, JSON.stringify({ access_token: 1 }));
    await expect(createFileTokenStore(path).load()).rejects.toMatchObject({ code: "CORRUPT_DATA" });
  });
});
