import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { PROTOCOL_VERSION } from "@repensar/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, launchChromium } from "./browser";
import { signInDevice } from "./rest";
import { startConsole, type ConsoleProcess } from "./server-process";

const outputDir = process.env.TEST_OUTPUT_DIR ?? fileURLToPath(new URL("../test-output", import.meta.url));
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const MEMBER_PASSWORD = "member-password-1";

/** The first admin's credentials, as the server prints them once on an empty database. */
function printedAdmin(output: string): { email: string; password: string } {
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { email?: unknown; password?: unknown };
    if (typeof entry.email === "string" && typeof entry.password === "string") return { email: entry.email, password: entry.password };
  }
  throw new Error(`No credentials in the server's output:\n${output}`);
}

describe.skipIf(!hasChromium)("the console in a browser", { timeout: 120_000 }, () => {
  let server: ConsoleProcess;
  let browser: Browser;
  let admin: { email: string; password: string };
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mkdirSync(outputDir, { recursive: true });
    // No ADMIN_EMAIL / ADMIN_PASSWORD: the embedded default creates the first admin and prints its password.
    server = await startConsole({ LOGIN_MAX_ATTEMPTS: "1000" });
    admin = printedAdmin(server.output());
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.stop();
  });

  async function newPage(viewport = DESKTOP): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: server.url });
    contexts.push(context);
    return context.newPage();
  }

  async function shot(page: Page, name: string): Promise<void> {
    // Show the page as a person sees it once it has loaded, not its loading placeholders.
    await page
      .waitForFunction(() => !/Loading [^\n]*…/.test(document.body.innerText) && !document.querySelector(".stat-value:not(:has(*))")?.textContent?.includes("…"), null, {
        timeout: 10_000,
      })
      .catch(() => undefined);
    await page.screenshot({ path: join(outputDir, `${name}.png`), fullPage: true });
  }

  async function signIn(page: Page, email: string, password: string): Promise<void> {
    await page.goto("/sign-in");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Dashboard", level: 1 }).waitFor();
  }

  /** Invites `email` as a member from the Members page and returns the invitation link. */
  async function invite(adminPage: Page, email: string): Promise<string> {
    await adminPage.goto("/members");
    await adminPage.getByLabel("Email").fill(email);
    await adminPage.getByLabel("Role", { exact: true }).selectOption("member");
    await adminPage.getByRole("button", { name: "Send invitation" }).click();
    const link = adminPage.getByLabel(`Invitation link for ${email}`);
    await link.waitFor();
    return link.inputValue();
  }

  async function acceptInvitation(link: string, name: string, screenshot?: string): Promise<void> {
    const page = await newPage();
    await page.goto(link);
    await page.getByLabel("Your name").fill(name);
    await page.getByLabel("Password").fill(MEMBER_PASSWORD);
    if (screenshot) await shot(page, screenshot);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("Your account is ready").waitFor();
  }

  it("signs the first admin in with the printed credentials, shows the dashboard, and signs out", async () => {
    const page = await newPage();
    await page.goto("/");
    // Not signed in: the console sends the visitor to the sign-in page.
    await page.waitForURL(/\/sign-in/);
    await shot(page, "sign-in");

    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "do not match" }).waitFor();

    await page.getByLabel("Password").fill(admin.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Dashboard", level: 1 }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByText(admin.email).waitFor();
    await page.getByText("Active devices").waitFor();
    await shot(page, "dashboard");

    const phone = await newPage(PHONE);
    await signIn(phone, admin.email, admin.password);
    await shot(phone, "dashboard-390");
    await phone.getByRole("button", { name: "Menu" }).click();
    await phone.getByRole("link", { name: "Devices" }).waitFor();
    await shot(phone, "menu-390");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/sign-in/);
    await page.goto("/devices");
    await page.waitForURL(/\/sign-in/);
  });

  it("revokes a device after a confirmation, and the device's next REST call is refused", async () => {
    const device = await signInDevice(server.url, admin.email, admin.password, "Field tablet");
    const pullBody = { device_id: device.deviceId, entity_types: ["volunteer"], since: null };
    expect((await device.call("/sync/pull", pullBody)).status).toBe(200);

    const page = await newPage();
    await signIn(page, admin.email, admin.password);
    await page.getByRole("link", { name: "Devices" }).click();
    await page.getByRole("link", { name: "Field tablet" }).waitFor();
    await shot(page, "devices");
    await page.getByRole("link", { name: "Field tablet" }).click();
    await page.getByRole("heading", { name: "Field tablet", level: 1 }).waitFor();
    await page.getByRole("heading", { name: "Recent events" }).waitFor();
    await shot(page, "device");

    await page.getByRole("button", { name: "Revoke device" }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke Field tablet?" });
    await dialog.waitFor();
    await shot(page, "device-revoke-dialog");
    // Cancelling leaves the device as it is.
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect((await device.call("/sync/pull", pullBody)).status).toBe(200);

    await page.getByRole("button", { name: "Revoke device" }).click();
    await dialog.getByRole("button", { name: "Revoke device" }).click();
    await page.getByText("Device revoked.").waitFor();
    await page.locator(".page-header .badge", { hasText: "revoked" }).waitFor();

    const refused = await device.call("/sync/pull", pullBody);
    expect([401, 403]).toContain(refused.status);
    expect(((await refused.json()) as { code: string }).code).toMatch(/REVOKED|INACTIVE|DEVICE/);

    // Revoked devices leave the default list and are found with the state filter.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Devices" }).click();
    await page.locator(".state-empty, .table-wrap").first().waitFor();
    expect(await page.getByRole("link", { name: "Field tablet" }).count()).toBe(0);
    await page.getByLabel("State").selectOption("revoked");
    await page.getByRole("link", { name: "Field tablet" }).waitFor();
    await page.getByLabel("Platform").selectOption("ios");
    await page.getByText("No device matches these filters.").waitFor();

    const phone = await newPage(PHONE);
    await signIn(phone, admin.email, admin.password);
    await phone.goto(`/devices/${device.deviceId}`);
    await phone.getByRole("heading", { name: "Field tablet", level: 1 }).waitFor();
    await shot(phone, "device-390");
  });

  it("resolves a conflict with the merge editor, validating first, and the merged value arrives in a pull", async () => {
    const phoneA = await signInDevice(server.url, admin.email, admin.password, "Phone A");
    const phoneB = await signInDevice(server.url, admin.email, admin.password, "Phone B", "ios");
    const id = randomUUID();
    await phoneA.push([{ entity_type: "volunteer", entity_id: id, operation: "CREATE", version: 0, data: { name: "Ana", phone: "111", notes: "first" } }]);
    // Both devices edit version 1; the second to push conflicts.
    const first = await phoneA.push([{ entity_type: "volunteer", entity_id: id, operation: "UPDATE", version: 1, data: { name: "Ana Maria" } }]);
    expect(first.applied).toBe(1);
    const second = await phoneB.push([
      { entity_type: "volunteer", entity_id: id, operation: "UPDATE", version: 1, data: { name: "Ana M.", phone: "222" } },
    ]);
    expect(second.conflicts).toHaveLength(1);

    const page = await newPage();
    await signIn(page, admin.email, admin.password);
    await page.getByRole("link", { name: "Conflicts" }).click();
    const row = page.getByRole("link", { name: new RegExp(id) });
    await row.waitFor();
    await shot(page, "conflicts");
    await row.click();
    // The server still holds the row both started from: base, device and server side by side.
    await page.getByRole("heading", { name: "Base, device and server side by side" }).waitFor();
    // The fields the two sides disagree on are marked; the ones they share are not.
    const differing = await page.locator("table.compare tr.differs").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-field")));
    expect(differing).toEqual(["name", "phone"]);
    // And each field says which side changed it since the base.
    const changed = await page.locator("table.compare tbody tr").evaluateAll((rows) => Object.fromEntries(rows.map((r) => [r.getAttribute("data-field"), r.getAttribute("data-changed")])));
    expect(changed).toMatchObject({ name: "device server", phone: "device", notes: "", email: "" });
    const nameRow = page.locator('table.compare tr[data-field="name"]');
    expect(await nameRow.locator("td").allInnerTexts()).toEqual(["Ana", expect.stringContaining("Ana M."), expect.stringContaining("Ana Maria")]);
    await nameRow.getByText("changed on both sides").waitFor();
    await shot(page, "conflict");

    await page.getByRole("button", { name: "Merge field by field" }).click();
    const name = page.locator('[data-field="name"]');
    await name.getByLabel("Another value").check();
    await name.getByLabel("Custom value of name").fill("");
    const email = page.locator('[data-field="email"]');
    await email.getByLabel("Another value").check();
    await email.getByLabel("Custom value of email").fill("not an email");
    await page.getByRole("button", { name: "Save merged record" }).click();
    // Validation against the entity schema stops the merge before anything is sent.
    await page.getByRole("alert").filter({ hasText: "The merged record is not valid" }).waitFor();
    await name.locator(".field-error").waitFor();
    await email.locator(".field-error").waitFor();
    await shot(page, "conflict-merge-invalid");
    expect((await phoneB.pull(["volunteer"])).find((c) => c.entity_id === id)?.version).toBe(2);

    await name.getByLabel("Custom value of name").fill("Ana Maria M.");
    await email.getByLabel("Custom value of email").fill("ana@example.org");
    await page.locator('[data-field="phone"]').getByLabel(/^Client:/).check();
    await shot(page, "conflict-merge");
    await page.getByRole("button", { name: "Save merged record" }).click();
    await page.getByRole("status").filter({ hasText: "Resolved: Manual." }).waitFor();

    const pulled = (await phoneB.pull(["volunteer"])).find((c) => c.entity_id === id);
    expect(pulled?.version).toBe(3);
    expect(pulled?.data).toMatchObject({ name: "Ana Maria M.", phone: "222", email: "ana@example.org", notes: "first" });

    // A deleted row stays out of the data table until asked for.
    const gone = randomUUID();
    await phoneA.push([{ entity_type: "volunteer", entity_id: gone, operation: "CREATE", version: 0, data: { name: "Gone Volunteer" } }]);
    await phoneA.push([{ entity_type: "volunteer", entity_id: gone, operation: "DELETE", version: 1, data: {} }]);
    await page.goto("/data/volunteer");
    await page.getByRole("cell", { name: "Ana Maria M." }).waitFor();
    expect(await page.getByRole("cell", { name: "Gone Volunteer" }).count()).toBe(0);
    await shot(page, "data-volunteer");
    await page.getByLabel("Show deleted rows").check();
    await page.getByRole("cell", { name: "Gone Volunteer" }).waitFor();
    await shot(page, "data-volunteer-with-deleted");

    const phone = await newPage(PHONE);
    await signIn(phone, admin.email, admin.password);
    await phone.goto(`/conflicts/${second.conflicts[0]?.conflict_id ?? ""}`);
    await phone.getByRole("heading", { name: "Base, device and server side by side" }).waitFor();
    await shot(phone, "conflict-390");
  });

  it("lists a row's versions in its history, restores one as a new version that a pull delivers, and counts merges", async () => {
    // Both speak the protocol that reads merged answers (as the SDK does).
    const tablet = await signInDevice(server.url, admin.email, admin.password, "History tablet", "android", PROTOCOL_VERSION);
    const laptop = await signInDevice(server.url, admin.email, admin.password, "History laptop", "linux", PROTOCOL_VERSION);
    const id = `hist-${randomUUID()}`;
    await tablet.push([{ entity_type: "volunteer", entity_id: id, operation: "CREATE", version: 0, data: { name: "Rita", phone: "111" } }]);
    await tablet.push([{ entity_type: "volunteer", entity_id: id, operation: "UPDATE", version: 1, data: { phone: "222" } }]);
    // The laptop saw version 1 and changed another field: the server merges it.
    const merged = await laptop.push([{ entity_type: "volunteer", entity_id: id, operation: "UPDATE", version: 1, data: { notes: "weekends" } }]);
    expect(merged.results?.[0]).toMatchObject({ status: "applied", version: 3 });

    const page = await newPage();
    await signIn(page, admin.email, admin.password);
    const mergeStat = page.locator('[data-stat="merges"] .stat-value');
    await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-stat="merges"] .stat-value')?.textContent ?? ""));
    expect(Number(await mergeStat.innerText())).toBeGreaterThanOrEqual(1);
    await shot(page, "dashboard-merges");

    await page.goto("/data/volunteer");
    await page.getByRole("button", { name: `History of ${id}` }).click();
    const history = page.getByRole("region", { name: `History of ${id}` });
    await history.locator('tr[data-version="1"]').waitFor();
    const versions = await history.locator("tbody tr").evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll("td")).slice(0, 5).map((td) => td.textContent)));
    expect(versions).toEqual([
      ["3", "Updated merged", "notes", "History laptop", "Administrator"],
      ["2", "Updated", "phone", "History tablet", "Administrator"],
      ["1", "Created", "name, phone", "History tablet", "Administrator"],
    ]);
    await history.locator('tr[data-version="3"]').getByText("current").waitFor();
    await shot(page, "data-history");

    await history.getByRole("button", { name: "Restore version 1" }).click();
    await page.getByRole("dialog", { name: "Restore version 1?" }).getByRole("button", { name: "Restore", exact: true }).click();
    await history.getByRole("status").filter({ hasText: "Version 1 restored as version 4" }).waitFor();
    await history.locator('tr[data-version="4"]').waitFor();
    expect(await history.locator('tr[data-version="4"] td').nth(2).innerText()).toBe("phone, notes");
    await shot(page, "data-history-restored");

    const pulled = (await laptop.pull(["volunteer"])).find((c) => c.entity_id === id);
    expect(pulled).toMatchObject({ version: 4, data: { name: "Rita", phone: "111", notes: null } });
    await page.getByRole("cell", { name: id }).locator("xpath=..").getByRole("cell", { name: "4", exact: true }).waitFor();
  });

  it("invites a member who can then sign in", async () => {
    const page = await newPage();
    await signIn(page, admin.email, admin.password);
    const email = `rosa.${randomUUID().slice(0, 8)}@example.org`;
    const link = await invite(page, email);
    expect(link).toMatch(new RegExp(`^${server.url}/invite/`));
    await shot(page, "members");

    await acceptInvitation(link, "Rosa", "invite");
    const member = await newPage();
    await signIn(member, email, MEMBER_PASSWORD);
    await member.getByRole("navigation", { name: "Main" }).getByText(email).waitFor();

    await page.reload();
    await page.getByRole("cell", { name: email, exact: true }).waitFor();
    // The link works once.
    const again = await newPage();
    await again.goto(link);
    await again.getByLabel("Your name").fill("Someone else");
    await again.getByLabel("Password").fill(MEMBER_PASSWORD);
    await again.getByRole("button", { name: "Create account" }).click();
    await again.getByRole("alert").filter({ hasText: "not valid any more" }).waitFor();

    await page.goto("/audit");
    await page.getByRole("cell", { name: "Member invited" }).first().waitFor();
    await shot(page, "audit");
  });

  it("keeps a member out of admin pages and other people's devices, in the UI and at the server", async () => {
    const adminDevice = await signInDevice(server.url, admin.email, admin.password, "Admin laptop", "linux");
    const adminPage = await newPage();
    await signIn(adminPage, admin.email, admin.password);
    const email = `tom.${randomUUID().slice(0, 8)}@example.org`;
    await acceptInvitation(await invite(adminPage, email), "Tom");
    const ownDevice = await signInDevice(server.url, email, MEMBER_PASSWORD, "Tom's phone");

    const page = await newPage();
    await signIn(page, email, MEMBER_PASSWORD);
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Devices" }).waitFor();
    expect(await nav.getByRole("link", { name: "Members" }).count()).toBe(0);

    await page.goto("/members");
    await page.getByRole("heading", { name: "Admins only" }).waitFor();
    await shot(page, "member-refused-members");
    // The audit log shows a member their own events only, with no filter by user.
    await page.goto("/audit");
    await page.getByRole("cell", { name: "Device registered" }).first().waitFor();
    expect(await page.getByLabel("User").count()).toBe(0);
    expect(await page.getByRole("link", { name: adminDevice.deviceId }).count()).toBe(0);
    await shot(page, "member-audit");

    // Their own device is listed; the admin's is not, and its page does not open.
    await page.goto("/devices");
    await page.getByRole("link", { name: "Tom's phone" }).waitFor();
    expect(await page.getByRole("link", { name: "Admin laptop" }).count()).toBe(0);
    await shot(page, "member-devices");
    await page.goto(`/devices/${adminDevice.deviceId}`);
    await page.getByRole("alert").filter({ hasText: "does not exist, or it belongs to someone else" }).waitFor();
    expect(await page.getByText("Admin laptop").count()).toBe(0);
    await shot(page, "member-refused-device");

    // The server refuses the same, whatever the UI shows: the member's session cookie goes with these.
    const query = (path: string, input: unknown) => page.request.get(`/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`);
    const mutate = (path: string, input: unknown) =>
      page.request.post(`/api/trpc/${path}`, { headers: { origin: server.url, "content-type": "application/json" }, data: JSON.stringify(input) });
    expect((await mutate("members.invite", { email: `eve.${randomUUID().slice(0, 8)}@example.org`, role: "admin" })).status()).toBe(403);
    expect((await mutate("members.changeRole", { userId: randomUUID(), role: "admin" })).status()).toBe(403);
    expect((await mutate("devices.revoke", { deviceId: adminDevice.deviceId })).status()).toBe(404);
    expect((await query("devices.get", { deviceId: adminDevice.deviceId })).status()).toBe(404);
    expect((await query("devices.get", { deviceId: ownDevice.deviceId })).status()).toBe(200);
    const adminStillWorks = await adminDevice.call("/sync/pull", { device_id: adminDevice.deviceId, entity_types: ["volunteer"], since: null });
    expect(adminStillWorks.status).toBe(200);
  });
  it("shows p50 and p99 of push and pull on the dashboard, from the server's histograms", async () => {
    const device = await signInDevice(server.url, admin.email, admin.password, "Latency phone");
    await device.push([{ entity_type: "volunteer", entity_id: randomUUID(), operation: "CREATE", version: 0, data: { name: "Timed" } }]);
    await device.pull(["volunteer"]);
    const page = await newPage();
    await signIn(page, admin.email, admin.password);
    const panel = page.getByRole("region", { name: "Sync latency" });
    const push = panel.getByRole("row", { name: /^Push/ });
    await push.waitFor();
    const cells = await push.getByRole("cell").allInnerTexts();
    expect(Number(cells[1])).toBeGreaterThanOrEqual(1);
    expect(cells[2]).toMatch(/^\d+(\.\d)? m?s$/);
    expect(cells[3]).toMatch(/^\d+(\.\d)? m?s$/);
    await shot(page, "dashboard-latency");
  });

  it("serves the interactive API reference at /docs with Try it out, asking no other origin", async () => {
    const context = await browser.newContext({ viewport: DESKTOP, baseURL: server.url });
    contexts.push(context);
    const origin = new URL(server.url).origin;
    const foreign: string[] = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      foreign.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(String(error)));
    const res = await page.goto("/docs");
    const csp = res?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-eval");
    expect(csp).not.toContain("unsafe-inline");

    await page.locator(".info .title", { hasText: "Repensar Sync API" }).waitFor();
    expect(await page.locator(".errors-wrapper, .version-pragma").count()).toBe(0);
    expect(await page.getByText("Warning", { exact: true }).count()).toBe(0);
    const pull = page.locator(".opblock").filter({ has: page.locator(".opblock-summary-path", { hasText: /^\/sync\/pull$/ }) });
    await pull.locator(".opblock-summary").click();
    await pull.getByRole("button", { name: "Try it out" }).click();
    await pull.getByRole("button", { name: "Execute" }).click();
    // Sent to this server without a token: its answer, shown in the page, is the API's 401.
    await pull.locator(".responses-table.live-responses-table .response-col_status", { hasText: "401" }).waitFor();
    await shot(page, "docs");
    expect(foreign).toEqual([]);
    expect(problems.filter((p) => !p.includes("401"))).toEqual([]);
  });
});
