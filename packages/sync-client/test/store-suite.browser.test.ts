import { readFileSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, hasChromium, launchChromium, serve } from "./browser/harness";

interface Result {
  readonly name: string;
  readonly ok: boolean;
  readonly error: string | null;
}

describe.skipIf(!hasChromium)("the LocalStore suite in Chromium", { timeout: 300_000 }, () => {
  let browser: Browser;
  let site: { url: string; close(): Promise<void> };
  let built: { dir: string; remove(): void };

  beforeAll(async () => {
    built = await bundle({ "store-suite.worker": "store-suite.worker.ts" });
    site = await serve(built.dir);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    built?.remove();
  });

  it("passes every test of the shared suite against SQLite WASM in OPFS, in a dedicated worker", async () => {
    const page = await browser.newPage();
    await page.goto(site.url);
    const results = await page.evaluate(
      () =>
        new Promise<Result[]>((resolve, reject) => {
          const worker = new Worker("/store-suite.worker.js", { type: "module" });
          worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
          worker.onmessage = (event: MessageEvent<{ type: string; results?: Result[]; error?: string }>) => {
            if (event.data.type === "done" && event.data.results) resolve(event.data.results);
            if (event.data.type === "fatal") reject(new Error(event.data.error));
          };
        }),
    );
    const failed = results.filter((result) => !result.ok).map((result) => `${result.name}\n${result.error ?? ""}`);
    expect(failed).toEqual([]);
    // Every test the suite defines ran.
    const defined = readFileSync(new URL("../src/stores/store-suite.ts", import.meta.url), "utf8").match(/^\s+it\(/gm) ?? [];
    expect(results).toHaveLength(defined.length);
  });
});
