import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestServer, type TestServer } from "@repensar/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const cliDir = fileURLToPath(new URL("..", import.meta.url));
const bin = join(cliDir, "dist/repensar-sync.js");
const EMAIL = "cli-user@example.org";
const PASSWORD = "a long enough password";

interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the built binary without blocking this process, which also serves the HTTP the binary calls. */
function cli(home: string, args: readonly string[], input?: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, "--home", home, ...args], { encoding: "utf8", env: { ...process.env, REPENSAR_SYNC_HOME: "" } }, (error, stdout, stderr) => {
      const status = error && typeof error.code === "number" ? error.code : error ? 1 : 0;
      resolve({ status, stdout, stderr });
    });
    child.stdin?.end(input ?? "");
  });
}

async function ok(home: string, args: readonly string[], input?: string): Promise<string> {
  const outcome = await cli(home, args, input);
  expect(outcome, `repensar-sync ${args.join(" ")}`).toMatchObject({ status: 0, stderr: "" });
  return outcome.stdout;
}

/** One line on stderr, prefixed, ending a sentence; a non-zero exit code. */
function expectOneSentenceError(outcome: Outcome, pattern: RegExp): void {
  expect(outcome.status).not.toBe(0);
  expect(outcome.stderr).toMatch(/^repensar-sync: [^\n]+[.!?]\n$/);
  expect(outcome.stderr).toMatch(pattern);
}

interface ListedRow {
  id: string;
  data: Record<string, unknown>;
  version: number;
  pending: boolean;
}

async function listJson(home: string, type: string): Promise<ListedRow[]> {
  return JSON.parse(await ok(home, ["list", type, "--json"])) as ListedRow[];
}

let server: TestServer;
let serverClosed = false;
let root: string;
let homeA: string;
let homeB: string;

beforeAll(async () => {
  execFileSync(process.execPath, ["--import", "tsx", "scripts/build.ts"], { cwd: cliDir, stdio: "pipe" });
  server = await startTestServer();
  const registered = await server.fetch("/auth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD, name: "CLI User" }),
  });
  expect(registered.status).toBe(201);
  root = mkdtempSync(join(tmpdir(), "repensar-cli-"));
  homeA = join(root, "a");
  homeB = join(root, "b");
}, 60_000);

afterAll(async () => {
  if (!serverClosed) await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe("repensar-sync against a running server", () => {
  let anaId = "";
  let deviceB = "";

  it("signs in, adds a row, lists it and syncs it", async () => {
    expect(await ok(homeA, ["login", "--server", server.url, "--email", EMAIL, "--password-stdin"], `${PASSWORD}\n`)).toBe(`Signed in as ${EMAIL} on ${server.url}.\n`);
    expect(statSync(join(homeA, "tokens.json")).mode & 0o777).toBe(0o600);

    anaId = (await ok(homeA, ["add", "volunteer", "--name", "Ana", "--skills", "paint,cook"])).trim();
    const rows = await listJson(homeA, "volunteer");
    expect(rows).toMatchObject([{ id: anaId, data: { name: "Ana", skills: ["paint", "cook"] }, version: 0, pending: true }]);
    expect(await ok(homeA, ["list", "volunteer"])).toMatch(new RegExp(`^ID\\s+NAME.*\\n${anaId}\\s+Ana\\s+paint, cook\\s+0\\s+pending\\n$`));

    expect(await ok(homeA, ["sync"])).toBe("pulled 0, pushed 1, conflicts 0\n");
    expect(await listJson(homeA, "volunteer")).toMatchObject([{ id: anaId, version: 1, pending: false }]);
  }, 60_000);

  it("a second home, signed in with the password on standard input, receives it", async () => {
    expect(await ok(homeB, ["login", "--server", server.url, "--email", EMAIL], `${PASSWORD}\n`)).toContain("Signed in");
    expect(await ok(homeB, ["sync"])).toBe("pulled 1, pushed 0, conflicts 0\n");
    expect(await listJson(homeB, "volunteer")).toMatchObject([{ id: anaId, data: { name: "Ana" }, version: 1 }]);
    const watched = await ok(homeB, ["watch", "--interval", "0.1", "--times", "2"]);
    expect(watched).toMatch(/^\S+ pulled 0, pushed 0, conflicts 0\n\S+ pulled 0, pushed 0, conflicts 0\n$/);
    deviceB = (JSON.parse(await ok(homeB, ["status", "--json"])) as { device_id: string }).device_id;
  }, 60_000);

  it("a concurrent edit waits as a conflict until resolved, then both homes agree", async () => {
    await ok(homeA, ["edit", "volunteer", anaId, "--name", "Ana from A"]);
    expect(await ok(homeA, ["sync"])).toBe("pulled 0, pushed 1, conflicts 0\n");
    await ok(homeB, ["edit", "volunteer", anaId, "--name", "Ana from B"]);
    expect(await ok(homeB, ["sync"])).toBe("pulled 1, pushed 0, conflicts 1\n1 conflict waiting; see 'repensar-sync conflicts'.\n");

    const waiting = JSON.parse(await ok(homeB, ["conflicts", "--json"])) as { conflict: { conflict_id: string; conflict_type: string } }[];
    expect(waiting).toHaveLength(1);
    const conflictId = waiting[0]?.conflict.conflict_id ?? "";
    expect(waiting[0]?.conflict.conflict_type).toBe("version_mismatch");
    expect(await ok(homeB, ["conflicts"])).toContain(conflictId);
    // Field by field: the base both started from, each side, and who changed what since.
    const shown = (await ok(homeB, ["conflicts", "show", conflictId])).split("\n");
    expect(shown[0]).toBe(`Conflict ${conflictId}: version_mismatch on volunteer ${anaId}`);
    expect(shown[1]).toMatch(/^FIELD\s+BASE\s+THIS DEVICE\s+SERVER\s+CHANGED BY$/);
    expect(shown.slice(2).filter(Boolean).map((line) => line.split(/\s{2,}/))).toEqual([["name", "Ana", "Ana from B", "Ana from A", "both"]]);
    expectOneSentenceError(await cli(homeB, ["conflicts", "show", "no-such-conflict"]), /No conflict/);

    const needsStrategy = await cli(homeB, ["conflicts", "resolve", conflictId]);
    expectOneSentenceError(needsStrategy, /--strategy/);
    expect(await ok(homeB, ["conflicts", "resolve", conflictId, "--strategy", "client_wins"])).toContain("Resolved");
    expect(await ok(homeB, ["conflicts"])).toBe("No conflicts waiting.\n");

    await ok(homeB, ["sync"]);
    await ok(homeA, ["sync"]);
    const shape = (rows: ListedRow[]) => rows.map(({ id, data, version, pending }) => ({ id, data, version, pending }));
    const a = shape(await listJson(homeA, "volunteer"));
    const b = shape(await listJson(homeB, "volunteer"));
    expect(a).toEqual(b);
    expect(a).toMatchObject([{ data: { name: "Ana from B" }, version: 3, pending: false }]);
  }, 60_000);

  it("lists devices, revokes one, and the revoked home stops with a clear sentence", async () => {
    const devices = JSON.parse(await ok(homeA, ["devices", "--json"])) as { device_id: string; is_active: boolean }[];
    expect(devices.map((d) => d.device_id)).toContain(deviceB);
    expect(devices).toHaveLength(2);
    expect(await ok(homeA, ["devices"])).toMatch(/ID\s+NAME\s+PLATFORM/);

    expect(await ok(homeA, ["devices", "revoke", deviceB])).toMatch(/revoked successfully\.\n$/);
    await ok(homeB, ["add", "project", "--name", "Made after revocation"]);
    expectOneSentenceError(await cli(homeB, ["sync"]), /(revoked|ended this session); sign in again/);
    const status = JSON.parse(await ok(homeB, ["status", "--json"])) as { signed_in: boolean; pending_changes: number };
    expect(status).toMatchObject({ signed_in: false, pending_changes: 1 });
  }, 60_000);

  it("signing in to another account refuses while changes are unsynced, then starts from an empty local database", async () => {
    const other = "cli-other@example.org";
    const registered = await server.fetch("/auth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: other, password: PASSWORD, name: "Other User" }),
    });
    expect(registered.status).toBe(201);
    const home = join(root, "switch");
    // A password on the command line works, with a warning that others can see it.
    const visible = await cli(home, ["login", "--server", server.url, "--email", EMAIL, "--password", PASSWORD]);
    expect(visible).toMatchObject({ status: 0, stdout: `Signed in as ${EMAIL} on ${server.url}.\n` });
    expect(visible.stderr).toMatch(/^repensar-sync: warning: --password shows the password [^\n]+--password-stdin\.\n$/);
    await ok(home, ["sync"]);
    const firstDevice = (JSON.parse(await ok(home, ["status", "--json"])) as { device_id: string }).device_id;
    const unsynced = (await ok(home, ["add", "project", "--name", "Not yet sent"])).trim();

    expectOneSentenceError(await cli(home, ["login", "--server", server.url, "--email", other, "--password-stdin"], `${PASSWORD}\n`), /1 change not yet synced to cli-user@example\.org/);
    expect(await listJson(home, "project")).toMatchObject([{ id: unsynced, pending: true }]);

    await ok(home, ["sync"]);
    expect(await ok(home, ["login", "--server", server.url, "--email", other, "--password-stdin"], `${PASSWORD}\n`)).toContain(`Signed in as ${other}`);
    expect(await listJson(home, "project")).toEqual([]);
    expect(await listJson(home, "volunteer")).toEqual([]);
    const status = JSON.parse(await ok(home, ["status", "--json"])) as { device_id: string; pending_changes: number; last_synced_at: string | null };
    expect(status).toMatchObject({ pending_changes: 0, last_synced_at: null });
    expect(status.device_id).not.toBe(firstDevice);
    await ok(home, ["add", "project", "--name", "Other's"]);
    expect(await ok(home, ["sync"])).toBe("pulled 0, pushed 1, conflicts 0\n");

    // A change the server refuses (a date that does not exist) is named on stderr, and sync fails;
    // the change is not lost: it stays on the device with the reason, until edited, re-sent or discarded.
    const volunteer = (await ok(home, ["add", "volunteer", "--name", "Vera"])).trim();
    const refused = (await ok(home, ["add", "time_entry", "--volunteer_id", volunteer, "--date", "2025-02-30", "--hours", "1"])).trim();
    const outcome = await cli(home, ["sync"]);
    expect(outcome.status).toBe(1);
    expect(outcome.stdout).toBe("pulled 0, pushed 1, conflicts 0, failed 1\n");
    expect(outcome.stderr).toMatch(
      new RegExp(`^repensar-sync: refused CREATE of time_entry ${refused}: VALIDATION_ERROR \\([^\\n]*date[^\\n]*\\); it is kept on this device as change [^ ]+: edit the row[^\\n]*\n$`),
    );
    expect(await listJson(home, "time_entry")).toMatchObject([{ id: refused, pending: true, data: { date: "2025-02-30" } }]);
    expect(JSON.parse(await ok(home, ["status", "--json"]))).toMatchObject({ pending_changes: 1, refused_changes: 1 });
    expect(await ok(home, ["status"])).toContain("1 refused by the server");
    const listed = await ok(home, ["conflicts"]);
    expect(listed).toContain("Refused by the server");
    expect(listed).toMatch(new RegExp(`${refused}\\s+CREATE\\s+VALIDATION_ERROR: [^\\n]*date`));
    const held = JSON.parse(await ok(home, ["conflicts", "refused", "--json"])) as { change_id: string; last_error: { code: string } }[];
    expect(held).toMatchObject([{ entity_id: refused, operation: "CREATE", last_error: { code: "VALIDATION_ERROR" } }]);
    const changeId = held[0]?.change_id ?? "";

    // Re-sent as it is, it is refused again, and still kept.
    expect(await ok(home, ["conflicts", "resend", changeId])).toContain("queued again");
    expect((await cli(home, ["sync"])).status).toBe(1);
    expect(JSON.parse(await ok(home, ["status", "--json"]))).toMatchObject({ refused_changes: 1 });
    // An edit answers the refusal: queued again, and now it names a volunteer that does not exist.
    await ok(home, ["edit", "time_entry", refused, "--date", "2025-02-03", "--volunteer_id", "nobody"]);
    expect(JSON.parse(await ok(home, ["status", "--json"]))).toMatchObject({ refused_changes: 0, pending_changes: 1 });
    const again = await cli(home, ["sync"]);
    expect(again.stderr).toMatch(/refused CREATE of time_entry [^\n]*volunteer_id/);
    // Only the user drops it.
    expect(await ok(home, ["conflicts", "discard", changeId])).toContain("Discarded 1 change");
    expect(await listJson(home, "time_entry")).toEqual([]);
    expect(JSON.parse(await ok(home, ["status", "--json"]))).toMatchObject({ pending_changes: 0, refused_changes: 0 });
    expectOneSentenceError(await cli(home, ["conflicts", "discard", changeId]), /No refused change/);
  }, 60_000);

  it("answers mistakes with one sentence and a non-zero exit code", async () => {
    expectOneSentenceError(await cli(homeA, ["add", "spaceship", "--name", "x"]), /Unknown entity type 'spaceship'/);
    expectOneSentenceError(await cli(homeA, ["add", "volunteer", "--colour", "red"]), /no field 'colour'/);
    expectOneSentenceError(await cli(homeA, ["add", "task", "--title", "No project"]), /project_id/);
    expectOneSentenceError(await cli(homeA, ["edit", "volunteer", "no-such-id", "--name", "x"]), /No volunteer with id no-such-id/);
    expectOneSentenceError(await cli(homeA, ["login", "--server", server.url, "--email", EMAIL, "--password-stdin"], "wrong password\n"), /Incorrect email or password/);
    expect((await cli(homeA, ["frobnicate"])).status).toBe(2);
  }, 60_000);

  it("works offline: with no server reachable, add, edit, rm, list, status and conflicts still work; sync says why it cannot", async () => {
    await server.close();
    serverClosed = true;
    const id = (await ok(homeA, ["add", "project", "--name", "Offline"])).trim();
    await ok(homeA, ["edit", "project", id, "--location", "Porto"]);
    await ok(homeA, ["rm", "volunteer", anaId]);
    expect(await listJson(homeA, "project")).toMatchObject([{ id, data: { name: "Offline", location: "Porto" }, pending: true }]);
    expect(await listJson(homeA, "volunteer")).toEqual([]);
    expect(JSON.parse(await ok(homeA, ["status", "--json"]))).toMatchObject({ signed_in: true, token_valid_offline: true, pending_changes: 2 });
    expect(await ok(homeA, ["conflicts"])).toBe("No conflicts waiting.\n");
    expectOneSentenceError(await cli(homeA, ["sync"]), /Could not reach the server/);
    // A home that never signed in works offline too.
    const fresh = join(root, "fresh");
    await ok(fresh, ["add", "volunteer", "--name", "Solo"]);
    expect(await listJson(fresh, "volunteer")).toMatchObject([{ data: { name: "Solo" } }]);
  }, 60_000);
});
