import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entityDefinitions, FieldKind, ResolutionPolicy, type EntityDefinition } from "@repensar/contracts";
import { afterAll, describe, expect, it, vi } from "vitest";

/**
 * The upgrade drill: a server database and a client database made under the definitions as they
 * are, then a release changes the definitions (a field added, an entity added, a limit tightened)
 * the way a developer does: one edit to the definitions and the migration `db:generate` writes.
 *
 * Each side runs as built from one definition set: the definitions module is substituted and the
 * stack (server, client store, sync manager, drizzle schema) imported afresh for it, so the old
 * build and the new one run side by side in this process, against the same database and files.
 */

const DEFINITIONS = "@repensar/contracts/definitions";
const PASSWORD = "correct horse battery";

/** The release: what a developer would write in `packages/contracts/src/definitions.ts`. */
function upgradedDefinitions(): Record<string, EntityDefinition> {
  const { volunteer, project } = entityDefinitions;
  return {
    ...entityDefinitions,
    volunteer: { ...volunteer, fields: { ...volunteer.fields, birth_date: { kind: FieldKind.Date } } },
    // Tightened: 300 characters were fine before, 200 are the most now.
    project: { ...project, fields: { ...project.fields, location: { ...project.fields.location, maxLength: 200 } } },
    donation: {
      table: "donations",
      conflictPolicy: ResolutionPolicy.ServerWins,
      fields: {
        volunteer_id: { kind: FieldKind.Ref, references: "volunteer", required: true },
        amount: { kind: FieldKind.Number, required: true, min: 0 },
        currency: { kind: FieldKind.Text, required: true, minLength: 3, maxLength: 3, pattern: "[A-Z]{3}" },
        // A campaign may be announced before its project is: a dangling id is stored.
        project_id: { kind: FieldKind.Ref, references: "project", onMissing: "allow" },
      },
    },
  };
}

/** One build of the product: everything the drill uses, imported under one definition set. */
async function build() {
  const [server, sqlite, core] = await Promise.all([import("@repensar/server/testing"), import("./stores/sqlite"), import("./index")]);
  return { ...server, ...sqlite, ...core };
}
type Build = Awaited<ReturnType<typeof build>>;

const oldBuild = await build();
vi.resetModules();
vi.doMock(DEFINITIONS, async (importOriginal) => ({ ...(await importOriginal<object>()), entityDefinitions: upgradedDefinitions() }));
const newBuild = await build();
vi.doUnmock(DEFINITIONS);

/** Every request goes to whichever server is running now, as a client's configured address would. */
const current = { url: "" };
const routed: typeof fetch = (input, init) => fetch(String(input).replace("http://sync.invalid", current.url), init);

interface Device {
  readonly id: string;
  readonly tokens: ReturnType<Build["createMemoryTokenStore"]>;
  store: ReturnType<Build["createSqliteStore"]>;
  manager: InstanceType<Build["SyncManager"]>;
  readonly rejected: { change: { entity_id: string }; error: { code: string; detail: string } }[];
}

const dir = mkdtempSync(join(tmpdir(), "schema-upgrade-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A device of `stack` on its own SQLite file (reopened if it exists), signed in once. */
async function device(stack: Build, email: string, id: string = randomUUID(), tokens = stack.createMemoryTokenStore()): Promise<Device> {
  const api = stack.createApiClient({ baseUrl: "http://sync.invalid", tokens, fetch: routed });
  if ((await tokens.load()) === null) await api.login({ email, password: PASSWORD, device_id: id });
  const store = stack.createSqliteStore(join(dir, `${id}.db`));
  const manager = new stack.SyncManager({
    api,
    store,
    tokens,
    device: { device_id: id, device_name: `device ${id.slice(0, 4)}`, device_type: "desktop", platform: "linux" },
    resolver: stack.merge,
    sleep: async () => {},
  });
  const rejected: Device["rejected"] = [];
  manager.on("rejected", (event) => rejected.push(event));
  return { id, tokens, store, manager, rejected };
}

/** The same device and file, reopened by the upgraded app. */
async function upgrade(old: Device, stack: Build, email: string): Promise<Device> {
  await old.store.close();
  return device(stack, email, old.id, old.tokens);
}

type KnownType = Parameters<Device["store"]["create"]>[0];
/** The compiler knows the contract's types only; the stores check a fixture's type names at run time. */
const typed = (name: string): KnownType => name as KnownType;
const DONATION = typed("donation");

type Rows = Record<string, Record<string, unknown>>;
async function rows(d: Device, type: string): Promise<Rows> {
  const list = await d.store.list(typed(type));
  return Object.fromEntries(list.map((row) => [row.id, row.data]));
}

describe("upgrading the data model", () => {
  it("loses nothing: values fill in, refused offline work stays with its reason, and old clients keep syncing", async () => {
    // --- Before the release -------------------------------------------------------------------
    const database = await oldBuild.openTestDatabase();
    let server = await oldBuild.startTestServer({ loginMaxAttempts: 10_000 }, { database });
    current.url = server.url;
    const email = `drill-${randomUUID()}@example.org`;
    await oldBuild.createApiClient({ baseUrl: server.url, tokens: oldBuild.createMemoryTokenStore() }).register({ email, password: PASSWORD, name: "Drill" });

    const upgraded = await device(oldBuild, email); // this app is upgraded later
    const stays = await device(oldBuild, email); // this one never is
    const volunteers: string[] = [];
    for (const name of ["Ana", "Bruno", "Carla"]) volunteers.push((await upgraded.store.create("volunteer", { name })).id);
    await upgraded.manager.sync();
    await stays.manager.sync();
    // Offline, under the old rule: a 300-character location was fine.
    const longLocation = "L".repeat(300);
    const offline = await upgraded.store.create("project", { name: "Offline project", location: longLocation });
    await server.close();

    // --- The server is upgraded: its migration, as db:generate writes it --------------------------
    // A real release also exports the new table from packages/db/src/schema/entities.ts (the drift
    // test names it otherwise); for the fixture, every entity table is handed over as such.
    const tablesOf = (stack: Build) => {
      const all = new Set<unknown>([...Object.values(stack.databaseSchema), ...Object.values(stack.databaseSchema.entityTables)]);
      return Object.fromEntries([...all].map((value, i) => [`export${i}`, value]));
    };
    const statements = await newBuild.migrationBetween(tablesOf(oldBuild), tablesOf(newBuild));
    expect(statements.join("\n")).toContain(`ADD COLUMN "birth_date" date`);
    expect(statements.join("\n")).toContain(`CREATE TABLE "donations"`);
    expect(statements.join("\n")).toMatch(/ADD CONSTRAINT "projects_location_max_length" CHECK \(char_length\("location"\) <= 200\) NOT VALID/);
    await newBuild.applyStatements(database, statements);
    server = await newBuild.startTestServer({ loginMaxAttempts: 10_000 }, { database });
    current.url = server.url;

    // A new app fills the new field on every volunteer and records donations.
    const fresh = await device(newBuild, email);
    await fresh.manager.sync();
    const birthDates = ["1985-05-06", "1990-01-02", "2001-12-31"];
    for (const [i, id] of volunteers.entries()) await fresh.store.update("volunteer", id, { birth_date: birthDates[i] });
    const donation = await fresh.store.create(DONATION, { volunteer_id: volunteers[0], amount: 25, currency: "EUR", project_id: "announced-later" });
    const dangling = await fresh.store.create(DONATION, { volunteer_id: "nobody", amount: 5, currency: "EUR" });
    expect(await fresh.manager.sync()).toMatchObject({ failed: 1 });
    expect(fresh.rejected).toMatchObject([{ change: { entity_id: dangling.id }, error: { code: "VALIDATION_ERROR" } }]);
    expect(fresh.rejected[0]?.error.detail).toMatch(/volunteer_id/);
    await expect(fresh.store.create(DONATION, { volunteer_id: volunteers[0], amount: 1, currency: "E" })).rejects.toMatchObject({ code: "VALIDATION_ERROR" });

    // --- Old clients against the new server ----------------------------------------------------
    // One never upgraded: it pulls rows with a field it does not know and pushes as before.
    await stays.store.update("volunteer", must(volunteers[1]), { phone: "555" });
    const added = await stays.store.create("volunteer", { name: "Dora" });
    // The volunteer moved on the server (its new field was filled) while this edit was offline: the
    // server merges the edit, which changes only the phone, so the field it cannot see stands.
    expect(await stays.manager.sync()).toMatchObject({ pushed: 2, conflicts: 0, failed: 0 });
    expect(stays.rejected).toEqual([]);
    // The one about to be upgraded syncs once more as it is: its offline project breaks the new
    // rule. It is refused, and kept.
    expect(await upgraded.manager.sync()).toMatchObject({ failed: 1 });
    expect(upgraded.rejected).toMatchObject([{ change: { entity_id: offline.id }, error: { code: "VALIDATION_ERROR" } }]);
    expect(Object.values(await rows(upgraded, "volunteer")).every((data) => !("birth_date" in data))).toBe(true);

    // --- The app is upgraded: the same file, opened by the new build ------------------------------
    const after = await upgrade(upgraded, newBuild, email);
    const repulled: string[] = [];
    after.manager.on("repull", (event) => repulled.push(event.entity_type));
    await after.manager.sync();
    expect(repulled.sort()).toEqual(["project", "volunteer"]);

    const truth = await device(newBuild, email);
    await truth.manager.sync();
    const serverVolunteers = await rows(truth, "volunteer");
    expect(Object.keys(serverVolunteers).sort()).toEqual([...volunteers, added.id].sort());
    // Every server value of the new field, on the upgraded device.
    const mine = await rows(after, "volunteer");
    for (const [id, data] of Object.entries(serverVolunteers)) expect(mine[id]?.["birth_date"], id).toBe(data["birth_date"]);
    expect(volunteers.map((id) => mine[id]?.["birth_date"])).toEqual(birthDates);
    expect(mine[must(volunteers[1])]).toMatchObject({ phone: "555", birth_date: birthDates[1] });
    expect(await rows(after, "donation")).toEqual(await rows(truth, "donation"));
    expect(Object.keys(await rows(after, "donation"))).toEqual([donation.id]);

    // The offline change refused under the new rule is still on the device, with the reason.
    const project = await after.store.get("project", offline.id);
    expect(project).toMatchObject({ pending: true, data: { name: "Offline project", location: longLocation } });
    const [held, ...others] = await after.store.refusedChanges();
    expect(others).toEqual([]);
    expect(held).toMatchObject({ entity_id: offline.id, operation: "CREATE", last_error: { code: "VALIDATION_ERROR" } });
    expect(held?.last_error?.detail).toMatch(/location/);
    // The user shortens it; it goes through.
    await after.store.update("project", offline.id, { location: "L".repeat(200) });
    expect(await after.manager.sync()).toMatchObject({ pushed: 1, failed: 0 });
    expect(await after.store.refusedChanges()).toEqual([]);

    // The old client keeps syncing, and what it holds of each row is the server's.
    await stays.manager.sync();
    await truth.manager.sync();
    const oldView = await rows(stays, "volunteer");
    const newView = await rows(truth, "volunteer");
    for (const [id, data] of Object.entries(oldView)) {
      expect(data, id).toEqual(Object.fromEntries(Object.keys(data).map((name) => [name, newView[id]?.[name] ?? null])));
    }
    // Its merged edit of one field left the new field alone on the server.
    expect(newView[must(volunteers[1])]).toMatchObject({ phone: "555", birth_date: birthDates[1] });
    expect(Object.keys(await rows(stays, "project"))).toContain(offline.id);

    for (const d of [after, stays, fresh, truth]) await d.store.close();
    await server.close();
    await database.close();
  }, 120_000);
});

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new TypeError("expected a value");
  return value;
}
