import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, launchChromium } from "./browser";
import { signInDevice } from "./rest";
import { startConsole, type ConsoleProcess } from "./server-process";

const outputDir = process.env.TEST_OUTPUT_DIR ?? fileURLToPath(new URL("../test-output", import.meta.url));
const ADMIN = { email: "field-admin@example.org", password: "field-admin-password-1" };

interface PushedChange {
  change_id?: string;
  entity_id: string;
}

describe.skipIf(!hasChromium)("the field app at /app", { timeout: 180_000 }, () => {
  let server: ConsoleProcess;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mkdirSync(outputDir, { recursive: true });
    server = await startConsole({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, LOGIN_MAX_ATTEMPTS: "1000" });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.stop();
  });

  async function newContext(): Promise<BrowserContext> {
    const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1100, height: 900 } });
    contexts.push(context);
    return context;
  }

  /** Opens /app in a new tab of `context`, signing in unless the context already is. */
  async function openApp(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await page.goto("/app");
    const signIn = page.getByRole("button", { name: "Sign in" });
    const workspace = page.getByRole("heading", { name: "Volunteers", level: 2 });
    await signIn.or(workspace).first().waitFor();
    if (await signIn.isVisible()) {
      await page.getByLabel("Email").fill(ADMIN.email);
      await page.getByLabel("Password").fill(ADMIN.password);
      await signIn.click();
      await workspace.waitFor();
    }
    return page;
  }

  async function synced(page: Page): Promise<void> {
    await page.getByLabel("Pending changes").filter({ hasText: /^0 pending$/ }).waitFor({ timeout: 30_000 });
    await page.getByLabel("Sync progress").filter({ hasText: /^Synced/ }).waitFor({ timeout: 30_000 });
  }

  async function tab(page: Page, label: string): Promise<void> {
    await page.getByRole("navigation", { name: "Entity types" }).getByRole("button", { name: label, exact: true }).click();
  }

  async function createVolunteer(page: Page, name: string, phone?: string): Promise<void> {
    await tab(page, "Volunteers");
    await page.getByRole("button", { name: "New volunteer" }).click();
    const form = page.getByRole("form", { name: "New volunteer" });
    await form.getByLabel(/^name/).fill(name);
    if (phone) await form.getByLabel(/^phone/).fill(phone);
    await form.getByRole("button", { name: "Save" }).click();
    await page.getByRole("table", { name: "Volunteers" }).getByText(name, { exact: true }).waitFor();
  }

  async function editVolunteer(page: Page, name: string, fields: Record<string, string>): Promise<void> {
    await tab(page, "Volunteers");
    await page.getByRole("button", { name: `Edit ${name}`, exact: true }).click();
    const form = page.getByRole("form", { name: "Edit volunteer" });
    for (const [field, value] of Object.entries(fields)) await form.getByLabel(new RegExp(`^${field}`)).fill(value);
    await form.getByRole("button", { name: "Save" }).click();
    await form.waitFor({ state: "detached" });
  }

  async function createProject(page: Page, name: string): Promise<void> {
    await tab(page, "Projects");
    await page.getByRole("button", { name: "New project" }).click();
    const form = page.getByRole("form", { name: "New project" });
    await form.getByLabel(/^name/).fill(name);
    await form.getByRole("button", { name: "Save" }).click();
    await page.getByRole("table", { name: "Projects" }).getByText(name, { exact: true }).waitFor();
  }

  async function createTask(page: Page, title: string, project: string): Promise<void> {
    await tab(page, "Tasks");
    await page.getByRole("button", { name: "New task" }).click();
    const form = page.getByRole("form", { name: "New task" });
    await form.getByLabel(/^title/).fill(title);
    await form.getByLabel(/^project_id/).selectOption({ label: project });
    await form.getByRole("button", { name: "Save" }).click();
    await page.getByRole("table", { name: "Tasks" }).getByText(title, { exact: true }).waitFor();
  }

  /** The server's live rows of `type`, by name (or title), as another device pulls them. */
  async function serverRows(type: string): Promise<Map<string, Record<string, unknown>>> {
    const device = await signInDevice(server.url, ADMIN.email, ADMIN.password, "checker");
    const rows = new Map<string, Record<string, unknown>>();
    for (const change of await device.pull([type])) {
      if (change.operation === "DELETE") continue;
      rows.set(String(change.data.name ?? change.data.title), { ...change.data, id: change.entity_id, version: change.version });
    }
    return rows;
  }

  const serverVolunteers = () => serverRows("volunteer");

  it("works offline, keeps its rows across a reload with no network, and syncs them when back online", async () => {
    const context = await newContext();
    const page = await openApp(context);
    await synced(page);
    // The refresh token is an HttpOnly cookie: the browser holds it, no page script can read it.
    const cookies = await context.cookies();
    expect(cookies.find((cookie) => cookie.name === "repensar_refresh")).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/auth" });
    expect(await page.evaluate(() => document.cookie)).not.toContain("repensar_refresh");
    const refreshed = await page.evaluate(async () => {
      const res = await fetch("/auth/refresh", { method: "POST" });
      return { status: res.status, body: (await res.json()) as { refresh_token?: string } };
    });
    expect(refreshed).toMatchObject({ status: 200, body: { refresh_token: "" } });
    // The shell is cached once the service worker has installed.
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });

    await context.setOffline(true);
    await page.getByLabel("Connection").filter({ hasText: "Offline" }).waitFor();
    await createVolunteer(page, "Ana Offline", "555-0100");
    await tab(page, "Projects");
    await page.getByRole("button", { name: "New project" }).click();
    await page.getByRole("form", { name: "New project" }).getByLabel(/^name/).fill("Community Garden");
    await page.getByRole("form", { name: "New project" }).getByRole("button", { name: "Save" }).click();
    await page.getByRole("table", { name: "Projects" }).getByText("Community Garden").waitFor();
    await editVolunteer(page, "Ana Offline", { name: "Ana Field" });
    // A create and its edit coalesce: two rows, two changes.
    await page.getByLabel("Pending changes").filter({ hasText: /^2 pending$/ }).waitFor();

    const reloaded = await page.reload();
    // The shell came from the service worker's cache: there is no network.
    expect(reloaded?.fromServiceWorker()).toBe(true);
    await page.getByRole("heading", { name: "Volunteers", level: 2 }).waitFor();
    await page.getByLabel("Connection").filter({ hasText: "Offline" }).waitFor();
    await page.getByRole("table", { name: "Volunteers" }).getByText("Ana Field").waitFor();
    await page.getByLabel("Pending changes").filter({ hasText: /^2 pending$/ }).waitFor();
    await page.screenshot({ path: join(outputDir, "field-app-offline-reload.png"), fullPage: true });
    expect((await serverVolunteers()).has("Ana Field")).toBe(false);

    await context.setOffline(false);
    await page.getByLabel("Connection").filter({ hasText: "Online" }).waitFor();
    await synced(page);
    const onServer = await serverVolunteers();
    expect(onServer.get("Ana Field")).toMatchObject({ phone: "555-0100", version: 1 });

    // Another browser sees them after its first sync.
    const other = await openApp(await newContext());
    await synced(other);
    await other.getByRole("table", { name: "Volunteers" }).getByText("Ana Field").waitFor();
    await tab(other, "Projects");
    await other.getByRole("table", { name: "Projects" }).getByText("Community Garden").waitFor();
  });

  it("a conflict between two browsers is settled in the dialog, field by field", async () => {
    const mine = await openApp(await newContext());
    await createVolunteer(mine, "Bea", "555-0200");
    await synced(mine);
    const theirs = await openApp(await newContext());
    await synced(theirs);
    await theirs.getByRole("table", { name: "Volunteers" }).getByText("Bea").waitFor();

    await mine.context().setOffline(true);
    await mine.getByLabel("Connection").filter({ hasText: "Offline" }).waitFor();
    await editVolunteer(mine, "Bea", { name: "Bea Mine", phone: "555-0299" });
    await editVolunteer(theirs, "Bea", { name: "Bea Theirs" });
    await synced(theirs);

    await mine.context().setOffline(false);
    const dialog = mine.getByRole("dialog", { name: "Conflict" });
    await dialog.waitFor({ timeout: 30_000 });
    await mine.screenshot({ path: join(outputDir, "field-app-conflict.png"), fullPage: true });
    await dialog.getByLabel("name: theirs").check();
    await dialog.getByLabel("phone: mine").check();
    await dialog.getByRole("button", { name: "Merge" }).click();
    await dialog.waitFor({ state: "detached" });
    await synced(mine);

    const onServer = await serverVolunteers();
    expect(onServer.get("Bea Theirs")).toMatchObject({ phone: "555-0299" });
    expect(onServer.has("Bea Mine")).toBe(false);
    await mine.getByRole("table", { name: "Volunteers" }).getByText("Bea Theirs").waitFor();
    // The other browser pulls the merged row when the server's poke arrives (no click, no polling).
    await theirs.getByRole("button", { name: `Edit Bea Theirs`, exact: true }).click();
    await theirs.getByRole("form", { name: "Edit volunteer" }).getByLabel(/^phone/).and(theirs.locator('[value="555-0299"]')).waitFor({ timeout: 30_000 });
  });

  it("the header and the tables show one moment: a new row is counted as pending from the moment it shows", async () => {
    const page = await openApp(await newContext());
    await synced(page);
    // What the header says in the very render where the row first appears in the table.
    const header = page.evaluate(
      (name) =>
        new Promise<string>((resolve) => {
          const observer = new MutationObserver(() => {
            if (!document.querySelector('table[aria-label="Volunteers"]')?.textContent?.includes(name)) return;
            observer.disconnect();
            resolve(document.querySelector('[aria-label="Pending changes"]')?.textContent ?? "");
          });
          observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        }),
      "Cleo",
    );
    await createVolunteer(page, "Cleo");
    expect(await header).toBe("1 pending");
    await synced(page);
    expect((await serverVolunteers()).get("Cleo")).toMatchObject({ version: 1 });
  });

  it("two tabs of one browser never push the same change twice", async () => {
    const context = await newContext();
    const pushed: PushedChange[][] = [];
    context.on("request", (request) => {
      if (request.method() === "POST" && new URL(request.url()).pathname === "/sync/push") {
        const body = request.postDataJSON() as { changes: PushedChange[] };
        pushed.push(body.changes);
      }
    });
    const first = await openApp(context);
    await synced(first);
    const second = await openApp(context);
    await second.getByRole("heading", { name: "Volunteers", level: 2 }).waitFor();

    await context.setOffline(true);
    await first.getByLabel("Connection").filter({ hasText: "Offline" }).waitFor();
    for (let i = 1; i <= 3; i++) {
      await createVolunteer(first, `Tab one ${i}`);
      await createVolunteer(second, `Tab two ${i}`);
    }
    // Both tabs see every row and the same outbox.
    await first.getByRole("table", { name: "Volunteers" }).getByText("Tab two 3").waitFor();
    await second.getByLabel("Pending changes").filter({ hasText: /^6 pending$/ }).waitFor();

    await context.setOffline(false);
    await synced(first);
    await synced(second);
    const ids = pushed.flat().map((change) => change.change_id);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
    const onServer = await serverVolunteers();
    for (let i = 1; i <= 3; i++) {
      expect(onServer.get(`Tab one ${i}`)).toMatchObject({ version: 1 });
      expect(onServer.get(`Tab two ${i}`)).toMatchObject({ version: 1 });
    }
  });
  it("a change the server refuses is kept with its reason: fixed by an edit it is sent, sent again it is refused again, discarded (once confirmed) it is gone", async () => {
    const context = await newContext();
    const pushedTitles: string[] = [];
    context.on("request", (request) => {
      if (request.method() === "POST" && new URL(request.url()).pathname === "/sync/push") {
        const body = request.postDataJSON() as { changes: { data: { title?: unknown } }[] };
        for (const change of body.changes) if (typeof change.data.title === "string") pushedTitles.push(change.data.title);
      }
    });
    const page = await openApp(context);
    await createProject(page, "Old Orchard");
    await createProject(page, "New Orchard");
    await synced(page);

    await context.setOffline(true);
    await page.getByLabel("Connection").filter({ hasText: "Offline" }).waitFor();
    await createTask(page, "Prune trees", "Old Orchard");
    await createTask(page, "Pick apples", "Old Orchard");
    await page.getByLabel("Pending changes").filter({ hasText: /^2 pending$/ }).waitFor();
    // Meanwhile a phone deletes the project on the server: the device accepted both tasks, the server cannot.
    const phone = await signInDevice(server.url, ADMIN.email, ADMIN.password, "phone");
    const old = (await serverRows("project")).get("Old Orchard");
    expect(old).toBeDefined();
    const deleted = await phone.push([{ entity_type: "project", entity_id: old?.id, operation: "DELETE", version: old?.version, data: {} }]);
    expect(deleted.applied).toBe(1);

    await context.setOffline(false);
    const refused = page.getByRole("region", { name: "Refused by the server" });
    const reason = `project_id: No project '${String(old?.id)}' exists in your organization`;
    for (const title of ["Prune trees", "Pick apples"]) {
      await refused.getByRole("row").filter({ hasText: `task ${title}` }).filter({ hasText: "Create" }).filter({ hasText: reason }).waitFor({ timeout: 30_000 });
    }
    // Nothing is waiting to be sent; two changes wait for the user.
    await synced(page);
    await page.getByLabel("Refused changes").filter({ hasText: /^2 refused$/ }).waitFor();
    await tab(page, "Tasks");
    await page.getByRole("table", { name: "Tasks" }).getByRole("row").filter({ hasText: "Prune trees" }).getByText("refused", { exact: true }).waitFor();
    await page.screenshot({ path: join(outputDir, "field-app-refused.png"), fullPage: true });
    expect([...(await serverRows("task")).keys()]).toEqual([]);

    // They are kept on the device: after a reload, and in another tab.
    await page.reload();
    await refused.getByRole("row").filter({ hasText: "task Prune trees" }).filter({ hasText: reason }).waitFor();
    await page.getByLabel("Refused changes").filter({ hasText: /^2 refused$/ }).waitFor();
    const other = await openApp(context);
    const refusedThere = other.getByRole("region", { name: "Refused by the server" });
    await refusedThere.getByRole("row").filter({ hasText: "task Pick apples" }).filter({ hasText: reason }).waitFor();

    // Fixed by editing: saving the row queues the change again, and it reaches the server.
    await refused.getByRole("row").filter({ hasText: "task Prune trees" }).getByRole("button", { name: "Edit" }).click();
    const form = page.getByRole("form", { name: "Edit task" });
    await expect.poll(() => form.getByLabel(/^title/).inputValue()).toBe("Prune trees");
    await form.getByLabel(/^project_id/).selectOption({ label: "New Orchard" });
    await form.getByRole("button", { name: "Save" }).click();
    await form.waitFor({ state: "detached" });
    await refused.getByRole("row").filter({ hasText: "task Prune trees" }).waitFor({ state: "detached" });
    await synced(page);
    await page.getByLabel("Refused changes").filter({ hasText: /^1 refused$/ }).waitFor();
    const projects = await serverRows("project");
    expect((await serverRows("task")).get("Prune trees")).toMatchObject({ project_id: projects.get("New Orchard")?.id, version: 1 });

    // Sent again as it is (queued offline, so each step shows): the server refuses it again, and it stays.
    expect(pushedTitles.filter((title) => title === "Pick apples")).toHaveLength(1);
    await context.setOffline(true);
    await other.getByLabel("Connection").filter({ hasText: "Offline" }).waitFor();
    const pickApples = refusedThere.getByRole("row").filter({ hasText: "task Pick apples" });
    await pickApples.getByRole("button", { name: "Send again" }).click();
    await refusedThere.waitFor({ state: "detached" });
    await other.getByLabel("Pending changes").filter({ hasText: /^1 pending$/ }).waitFor();
    await context.setOffline(false);
    await pickApples.filter({ hasText: reason }).waitFor({ timeout: 30_000 });
    await other.getByLabel("Pending changes").filter({ hasText: /^0 pending$/ }).waitFor();
    await other.getByLabel("Refused changes").filter({ hasText: /^1 refused$/ }).waitFor();
    expect(pushedTitles.filter((title) => title === "Pick apples")).toHaveLength(2);

    // Discarded in the other tab, only once confirmed: the task never reached the server, and leaves the device.
    await pickApples.getByRole("button", { name: "Discard" }).click();
    const confirm = other.getByRole("alertdialog", { name: "Discard change" });
    await confirm.getByText('"Pick apples" has never reached the server').waitFor();
    await confirm.getByRole("button", { name: "Keep it" }).click();
    await confirm.waitFor({ state: "detached" });
    await pickApples.waitFor();
    await pickApples.getByRole("button", { name: "Discard" }).click();
    await confirm.getByRole("button", { name: "Discard for good" }).click();
    await confirm.waitFor({ state: "detached" });
    for (const tabPage of [other, page]) {
      await tabPage.getByRole("region", { name: "Refused by the server" }).waitFor({ state: "detached" });
      await tabPage.getByLabel("Refused changes").waitFor({ state: "detached" });
      await tab(tabPage, "Tasks");
      await tabPage.getByRole("table", { name: "Tasks" }).getByText("Prune trees", { exact: true }).waitFor();
      await tabPage.getByRole("table", { name: "Tasks" }).getByText("Pick apples", { exact: true }).waitFor({ state: "detached" });
    }
    await page.reload();
    await page.getByRole("heading", { name: "Volunteers", level: 2 }).waitFor();
    await synced(page);
    await tab(page, "Tasks");
    await page.getByRole("table", { name: "Tasks" }).getByText("Prune trees", { exact: true }).waitFor();
    expect(await page.getByRole("table", { name: "Tasks" }).getByText("Pick apples", { exact: true }).count()).toBe(0);
    expect(await page.getByRole("region", { name: "Refused by the server" }).count()).toBe(0);
    expect([...(await serverRows("task")).keys()]).toEqual(["Prune trees"]);
  });
});
