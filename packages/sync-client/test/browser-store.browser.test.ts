import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, hasChromium, launchChromium, serve } from "./browser/harness";

describe.skipIf(!hasChromium)("the browser store across tabs", { timeout: 120_000 }, () => {
  let browser: Browser;
  let site: { url: string; close(): Promise<void> };
  let built: { dir: string; remove(): void };
  let context: BrowserContext;

  beforeAll(async () => {
    built = await bundle({ "store.worker": "store.worker.ts", "store.page": "store.page.ts" });
    site = await serve(built.dir);
    browser = await launchChromium();
    context = await browser.newContext();
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await site?.close();
    built?.remove();
  });

  async function tab(): Promise<Page> {
    const page = await context.newPage();
    await page.goto(site.url);
    await page.addScriptTag({ url: "/store.page.js", type: "module" });
    await page.waitForFunction(() => window.store !== undefined);
    return page;
  }

  it("one tab owns the database; another tab's calls reach it, with the store's errors, and both hear of changes", async () => {
    const first = await tab();
    await first.waitForFunction(() => window.store.owner);
    const second = await tab();
    const id = await second.evaluate(async () => (await window.store.create("volunteer", { name: "Ana" })).id);
    expect(await second.evaluate(() => window.store.owner)).toBe(false);
    expect(await first.evaluate(async () => (await window.store.list("volunteer")).map((row) => row.data.name))).toEqual(["Ana"]);
    await first.waitForFunction(() => window.changes > 0);
    await second.waitForFunction(() => window.changes > 0);
    const error = await second.evaluate(async () => {
      try {
        await window.store.create("volunteer", { email: "no-name@example.org" });
        return null;
      } catch (e) {
        return e instanceof Error ? { name: e.name, code: "code" in e ? e.code : null } : null;
      }
    });
    expect(error).toEqual({ name: "LocalStoreError", code: "VALIDATION_ERROR" });

    // The owner's tab closes: the other tab's worker takes the database over, data and outbox intact.
    await first.close();
    await second.waitForFunction(() => window.store.owner, null, { timeout: 30_000 });
    expect(await second.evaluate(async (rowId) => (await window.store.get("volunteer", rowId))?.data.name, id)).toBe("Ana");
    expect(await second.evaluate(() => window.store.pendingCount())).toBe(1);
  });

  it("watch re-runs its query when another tab writes", async () => {
    const first = await tab();
    const second = await tab();
    await first.evaluate(() => {
      window.store.watch(
        async (store) => (await store.list("project")).map((row) => String(row.data.name)),
        (names) => window.seen.push(names),
      );
    });
    await second.evaluate(() => window.store.create("project", { name: "Garden" }));
    await first.waitForFunction(() => window.seen.some((names) => names.includes("Garden")));
    await first.close();
    await second.close();
  });
});
