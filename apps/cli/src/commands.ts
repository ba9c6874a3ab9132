import { randomUUID } from "node:crypto";
import {
  PROTOCOL_VERSION,
  ResolutionPolicy,
  entityDefinitions,
  isEntityType,
  type ConflictData,
  type ResolutionPolicy as Policy,
} from "@repensar/contracts";
import {
  ApiError,
  SyncManager,
  createApiClient,
  deferred,
  isAuthenticatedOffline,
  isResolutionPolicy,
  readLastSyncedAt,
  readParkedConflicts,
  resolverFor,
  type ApiClient,
  type LocalStore,
  type ParkedConflict,
  type PendingChange,
  type Resolver,
  type SyncEvents,
  type SyncSummary,
} from "@repensar/sync-client";
import { UsageError, type ParsedArgs } from "./args";
import { cell, entityType, fieldsFromFlags } from "./fields";
import { CliError, homeDirectory, openHome, type Home } from "./home";
import { promptLine, promptSecret, readLine } from "./prompt";
import { formatTable } from "./table";
import { VERSION } from "./version";

export { VERSION };

export const USAGE = `Usage: repensar-sync <command> [options]

Commands:
  login --server URL --email E                  sign in (the password is asked for; --password-stdin
                                               reads it from standard input; --password P shows it to ps)
  logout                                       sign out and forget the tokens
  add <type> --<field> <value>...              create a row (works offline)
  edit <type> <id> --<field> <value>...        change fields of a row (works offline)
  rm <type> <id>                               delete a row (works offline)
  list <type> [--json] [--all]                 show rows (--all includes deleted ones)
  sync [--strategy S]                          pull, push, and report pulled/pushed/conflicts
  status [--json]                              sign-in, pending, refused changes and conflicts, offline
  conflicts [--json]                           conflicts waiting for a decision, and refused changes
  conflicts refused [--json]                   changes the server refused, kept on this device
  conflicts show <id>                          one conflict field by field: the base both sides
                                               started from, this device's and the server's values
  conflicts resolve <id> [--strategy S]        settle one (asks which side when S is not given)
  conflicts resend <change>                    send a refused change again as it is (editing the row
                                               with 'edit' queues it again too)
  conflicts discard <change>                   drop a refused change for good (the row goes back to
                                               the server's)
  devices [--json]                             your devices on the server
  devices revoke <id>                          revoke a device (it is signed out)
  watch [--interval SECONDS]                   sync every SECONDS (default 60) until stopped
  --version                                    print the client and protocol versions
  help                                         show this help

Types: ${Object.keys(entityDefinitions).join(", ")}
Strategies: ${Object.values(ResolutionPolicy).join(", ")}
Options: --home DIR (or REPENSAR_SYNC_HOME) chooses where the local database and tokens live.
`;

interface Context {
  readonly args: ParsedArgs;
  readonly home: Home;
}

type Command = (context: Context) => Promise<number>;

const commands: Readonly<Record<string, Command>> = {
  login,
  logout,
  add,
  edit,
  rm,
  list,
  sync,
  status,
  conflicts,
  devices,
  watch,
};

export async function run(args: ParsedArgs): Promise<number> {
  if (args.flags["version"] === true) {
    process.stdout.write(`repensar-sync ${VERSION} (protocol ${PROTOCOL_VERSION})\n`);
    return 0;
  }
  if (args.command === undefined || args.command === "help" || args.flags["help"] === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const command = Object.hasOwn(commands, args.command) ? commands[args.command] : undefined;
  if (!command) throw new UsageError(`Unknown command '${args.command}'. Run 'repensar-sync help' for the list.`);
  const home = openHome(homeDirectory(args.flags["home"]));
  return command({ args, home });
}

// --- helpers ---------------------------------------------------------------------------------

function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags[name];
  if (value === true) throw new UsageError(`--${name} needs a value.`);
  return value;
}

function requiredFlag(args: ParsedArgs, name: string, what: string): string {
  const value = stringFlag(args, name);
  if (value === undefined || value === "") throw new UsageError(`Give ${what} with --${name}.`);
  return value;
}

function positional(args: ParsedArgs, index: number, what: string): string {
  const value = args.positionals[index];
  if (value === undefined || value === "") throw new UsageError(`Give ${what}.`);
  return value;
}

function serverOf(home: Home): string {
  if (home.config.server === null) throw new CliError("Not signed in; run 'repensar-sync login --server URL --email E' first");
  return home.config.server;
}

function apiFor(home: Home): ApiClient {
  return createApiClient({ baseUrl: serverOf(home), tokens: home.tokens });
}

function strategyOf(args: ParsedArgs): Policy | undefined {
  const value = stringFlag(args, "strategy");
  if (value === undefined) return undefined;
  if (!isResolutionPolicy(value)) throw new UsageError(`Unknown strategy '${value}'; use one of ${Object.values(ResolutionPolicy).join(", ")}.`);
  return value;
}

function managerFor(home: Home, store: LocalStore, options: { resolver?: Resolver; maxAttempts?: number } = {}): SyncManager {
  return new SyncManager({
    api: apiFor(home),
    store,
    tokens: home.tokens,
    device: home.device(),
    resolver: options.resolver ?? deferred,
    maxAttempts: options.maxAttempts ?? 4,
  });
}

async function withStore<T>(home: Home, use: (store: LocalStore) => Promise<T>): Promise<T> {
  const store = home.openStore();
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

// --- commands --------------------------------------------------------------------------------

async function login({ args, home }: Context): Promise<number> {
  const server = requiredFlag(args, "server", "the server's address").replace(/\/+$/, "");
  const email = requiredFlag(args, "email", "your email");
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`'${server}' is not a URL; give one like https://sync.example.org.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`'${server}' is not an http(s) address.`);
  const previous = home.config;
  // The local database (rows, outbox, sync cursor) and the device belong to one account on one
  // server: another account or server starts afresh, and must not take unsynced work with it.
  const switching =
    previous.server !== null && (previous.server !== server || previous.email?.toLowerCase() !== email.toLowerCase());
  if (switching) await refuseUnsyncedWork(home, previous);
  const given = stringFlag(args, "password");
  if (given !== undefined) {
    process.stderr.write("repensar-sync: warning: --password shows the password to other users (ps) and keeps it in shell history; prefer --password-stdin.\n");
  }
  const password = given ?? (args.flags["password-stdin"] === true ? await readLine() : await promptSecret("Password: "));
  const deviceId = switching ? randomUUID() : previous.device_id;
  const api = createApiClient({ baseUrl: server, tokens: home.tokens });
  const answer = await api.login({ email, password, device_id: deviceId });
  const userId = String(answer.user.id);
  const otherAccount = !switching && previous.user_id !== null && previous.user_id !== userId;
  if (otherAccount) {
    // Same server and address, another account (re-created, or the server was reset).
    await refuseUnsyncedWork(home, previous, async () => {
      await api.logout();
    });
  }
  if (switching || otherAccount) home.removeStore();
  home.saveConfig({ ...previous, server, email, device_id: deviceId, user_id: userId });
  await api.registerDevice(home.device());
  process.stdout.write(`Signed in as ${answer.user.email} on ${server}.\n`);
  return 0;
}

/** Throws, after `undo`, when the home holds changes not yet synced to the account it was signed in to. */
async function refuseUnsyncedWork(home: Home, previous: Home["config"], undo?: () => Promise<void>): Promise<void> {
  const pending = await withStore(home, (store) => store.pendingCount());
  if (pending === 0) return;
  await undo?.();
  throw new CliError(
    `This home has ${pending} change${pending === 1 ? "" : "s"} not yet synced to ${previous.email ?? "?"} on ${previous.server ?? "?"}; ` +
      "run 'repensar-sync sync' (and settle any conflicts) before signing in to another account or server",
  );
}

async function logout({ home }: Context): Promise<number> {
  const tokens = await home.tokens.load();
  if (!tokens || home.config.server === null) {
    await home.tokens.clear();
    process.stdout.write("Not signed in.\n");
    return 0;
  }
  try {
    await apiFor(home).logout();
    process.stdout.write("Signed out.\n");
  } catch (error) {
    // The tokens go either way; the server ends them at their expiry if it could not be told.
    await home.tokens.clear();
    if (!(error instanceof ApiError)) throw error;
    process.stdout.write(
      error.retryable
        ? "Signed out on this device; the server could not be reached, so the session ends there when it expires.\n"
        : "Signed out.\n",
    );
  }
  return 0;
}

async function add({ args, home }: Context): Promise<number> {
  const type = entityType(args.positionals[0]);
  const data = fieldsFromFlags(type, args.flags);
  const row = await withStore(home, (store) => store.create(type, data));
  if (args.flags["json"] === true) printJson(row);
  else process.stdout.write(`${row.id}\n`);
  return 0;
}

async function edit({ args, home }: Context): Promise<number> {
  const type = entityType(args.positionals[0]);
  const id = positional(args, 1, `the id of the ${type} to edit`);
  const patch = fieldsFromFlags(type, args.flags);
  if (Object.keys(patch).length === 0) throw new UsageError(`Say what to change, e.g. --${Object.keys(entityDefinitions[type].fields)[0] ?? "name"} <value>.`);
  const row = await withStore(home, (store) => store.update(type, id, patch));
  if (args.flags["json"] === true) printJson(row);
  else process.stdout.write(`Updated ${type} ${row.id}.\n`);
  return 0;
}

async function rm({ args, home }: Context): Promise<number> {
  const type = entityType(args.positionals[0]);
  const id = positional(args, 1, `the id of the ${type} to delete`);
  await withStore(home, (store) => store.delete(type, id));
  process.stdout.write(`Deleted ${type} ${id}.\n`);
  return 0;
}

async function list({ args, home }: Context): Promise<number> {
  const type = entityType(args.positionals[0]);
  const rows = await withStore(home, (store) => store.list(type, { includeDeleted: args.flags["all"] === true }));
  if (args.flags["json"] === true) {
    printJson(rows);
    return 0;
  }
  const fields = Object.keys(entityDefinitions[type].fields);
  const header = ["ID", ...fields.map((f) => f.toUpperCase()), "VERSION", "STATE"];
  const body = rows.map((row) => [
    row.id,
    ...fields.map((f) => cell(row.data[f])),
    String(row.version),
    row.deleted_at !== null ? "deleted" : row.pending ? "pending" : "synced",
  ]);
  process.stdout.write(formatTable(header, body));
  return 0;
}

function summaryLine(summary: SyncSummary): string {
  const failed = summary.failed > 0 ? `, failed ${summary.failed}` : "";
  return `pulled ${summary.pulled}, pushed ${summary.pushed}, conflicts ${summary.conflicts}${failed}`;
}

interface SyncOutcome {
  readonly summary: SyncSummary;
  /** Changes the server refused for good; each is kept on the device, held until edited, re-sent or discarded. */
  readonly rejected: readonly SyncEvents["rejected"][];
}

async function runSync(home: Home, store: LocalStore, strategy: Policy | undefined, showProgress: boolean): Promise<SyncOutcome> {
  const manager = managerFor(home, store, strategy ? { resolver: resolverFor(strategy) } : {});
  const rejected: SyncEvents["rejected"][] = [];
  manager.on("rejected", (event) => rejected.push(event));
  if (showProgress) {
    manager.on("progress", (p) => {
      const what = p.phase === "register" ? "Registering device" : p.phase === "pull" ? `Pulling: page ${p.pages}, ${p.pulled} rows` : `Pushing: ${p.pushed} changes`;
      process.stderr.write(`\r\u001b[2K${what}`);
    });
    manager.on("retry", (r) => process.stderr.write(`\r\u001b[2KRetrying in ${Math.ceil(r.delayMs / 1000)}s: ${r.error.message}`));
  }
  try {
    return { summary: await manager.sync(), rejected };
  } finally {
    if (showProgress) process.stderr.write("\r\u001b[2K");
  }
}

const oneLine = (text: string): string => text.replaceAll(/\s*\n\s*/g, " ").trim();

/** One line per refused change on stderr: what it was, why the server refused it, and that it is kept. */
function reportRejected(rejected: readonly SyncEvents["rejected"][]): void {
  for (const { change, error } of rejected) {
    const detail = oneLine(error.detail);
    process.stderr.write(
      `repensar-sync: refused ${change.operation} of ${change.entity_type} ${change.entity_id}: ${error.code}${detail === "" ? "" : ` (${detail})`}; ` +
        `it is kept on this device as change ${change.change_id}: edit the row, or 'conflicts resend' / 'conflicts discard' it.\n`,
    );
  }
}

async function sync({ args, home }: Context): Promise<number> {
  const strategy = strategyOf(args);
  return withStore(home, async (store) => {
    const { summary, rejected } = await runSync(home, store, strategy, process.stderr.isTTY);
    process.stdout.write(`${summaryLine(summary)}\n`);
    const waiting = (await readParkedConflicts(store)).length;
    if (waiting > 0) process.stdout.write(`${waiting} conflict${waiting === 1 ? "" : "s"} waiting; see 'repensar-sync conflicts'.\n`);
    reportRejected(rejected);
    return rejected.length > 0 ? 1 : 0;
  });
}

async function status({ args, home }: Context): Promise<number> {
  const tokens = await home.tokens.load();
  const report = await withStore(home, async (store) => {
    return {
      server: home.config.server,
      email: home.config.email,
      device_id: home.config.device_id,
      signed_in: tokens !== null,
      token_valid_offline: isAuthenticatedOffline(tokens),
      token_expires_at: tokens?.expires_at ?? null,
      pending_changes: await store.pendingCount(),
      refused_changes: (await store.refusedChanges()).length,
      conflicts_waiting: (await readParkedConflicts(store)).length,
      last_synced_at: await readLastSyncedAt(store),
    };
  });
  if (args.flags["json"] === true) {
    printJson(report);
    return 0;
  }
  const signedIn = !report.signed_in
    ? "no"
    : report.token_valid_offline
      ? `yes, as ${report.email ?? "?"} (token valid until ${report.token_expires_at ?? "?"})`
      : `yes, as ${report.email ?? "?"} (token expired; the next sync refreshes it)`;
  process.stdout.write(
    [
      `Home:       ${home.dir}`,
      `Server:     ${report.server ?? "not set"}`,
      `Signed in:  ${signedIn}`,
      `Device:     ${report.device_id}`,
      `Pending:    ${report.pending_changes} change${report.pending_changes === 1 ? "" : "s"}` +
        (report.refused_changes > 0 ? `, ${report.refused_changes} refused by the server (see 'repensar-sync conflicts')` : ""),
      `Conflicts:  ${report.conflicts_waiting} waiting`,
      `Last sync:  ${report.last_synced_at ?? "never"}`,
    ].join("\n") + "\n",
  );
  return 0;
}

async function conflicts({ args, home }: Context): Promise<number> {
  const sub = args.positionals[0];
  if (sub === undefined) {
    const { parked, refused } = await withStore(home, async (store) => ({ parked: await readParkedConflicts(store), refused: await store.refusedChanges() }));
    if (args.flags["json"] === true) {
      printJson(parked);
      return 0;
    }
    if (parked.length === 0) process.stdout.write("No conflicts waiting.\n");
    else {
      const rows = parked.map((p) => [p.conflict.conflict_id, p.conflict.entity_type, p.conflict.entity_id, p.conflict.conflict_type, p.resolution?.resolution ?? ""]);
      process.stdout.write(formatTable(["ID", "TYPE", "ENTITY", "CONFLICT", "DECIDED"], rows));
    }
    if (refused.length > 0) {
      process.stdout.write(`\nRefused by the server, kept on this device (edit the row, or 'conflicts resend' / 'conflicts discard' the change):\n`);
      printRefused(refused);
    }
    return 0;
  }
  if (sub === "refused") {
    const refused = await withStore(home, (store) => store.refusedChanges());
    if (args.flags["json"] === true) printJson(refused);
    else if (refused.length === 0) process.stdout.write("No refused changes.\n");
    else printRefused(refused);
    return 0;
  }
  if (sub === "resend" || sub === "discard") {
    const changeId = positional(args, 1, `the id of the refused change to ${sub}`);
    return withStore(home, async (store) => {
      if (!(await store.refusedChanges()).some((c) => c.change_id === changeId)) throw new CliError(`No refused change ${changeId} is on this device`);
      if (sub === "resend") {
        await store.resendChange(changeId);
        process.stdout.write(`Change ${changeId} is queued again; the next sync sends it.\n`);
      } else {
        const dropped = await store.discardChange(changeId);
        process.stdout.write(`Discarded ${dropped.length} change${dropped.length === 1 ? "" : "s"}; the row is as the server has it.\n`);
      }
      return 0;
    });
  }
  if (sub === "show") {
    const id = positional(args, 1, "the id of the conflict to show");
    const parked = await withStore(home, async (store) => (await readParkedConflicts(store)).find((p) => p.conflict.conflict_id === id));
    if (!parked) throw new CliError(`No conflict ${id} is waiting on this device`);
    process.stdout.write(describeConflict(parked.conflict));
    return 0;
  }
  if (sub !== "resolve") {
    throw new UsageError(
      `Unknown conflicts command '${sub}'; use 'conflicts', 'conflicts show <id>', 'conflicts resolve <id>', 'conflicts resend <change>' or 'conflicts discard <change>'.`,
    );
  }
  const id = positional(args, 1, "the id of the conflict to resolve");
  return withStore(home, async (store) => {
    const manager = managerFor(home, store, { maxAttempts: 1 });
    const parked = (await manager.parkedConflicts()).find((p) => p.conflict.conflict_id === id);
    if (!parked) throw new CliError(`No conflict ${id} is waiting on this device`);
    const strategy = strategyOf(args) ?? (await askStrategy(parked));
    const outcome = await manager.resolveParked(id, strategy);
    process.stdout.write(
      outcome.sent
        ? `Resolved conflict ${id} (${outcome.resolution.resolution}); sync to bring the result here.\n`
        : `Decision saved (${outcome.resolution.resolution}); the server could not be reached, so the next sync sends it.\n`,
    );
    return 0;
  });
}

function printRefused(refused: readonly PendingChange[]): void {
  const rows = refused.map((c) => [c.change_id, c.entity_type, c.entity_id, c.operation, c.last_error ? `${c.last_error.code}: ${oneLine(c.last_error.detail)}` : ""]);
  process.stdout.write(formatTable(["CHANGE", "TYPE", "ENTITY", "OPERATION", "REASON"], rows));
}

/**
 * A conflict as a table of the fields it is about: each side's value and, when the server sent the
 * row both sides started from (`base_data`), that value and which side changed the field since.
 */
export function describeConflict(conflict: ConflictData): string {
  const base = conflict.base_data ?? null;
  const own = isEntityType(conflict.entity_type) ? Object.keys(entityDefinitions[conflict.entity_type].fields) : null;
  const names = own ?? [...new Set([...Object.keys(base ?? {}), ...Object.keys(conflict.client_data), ...Object.keys(conflict.server_data)])];
  const same = (a: unknown, b: unknown) => cell(a) === cell(b);
  const rows: string[][] = [];
  for (const name of names) {
    const server = conflict.server_data[name];
    // An UPDATE's data holds only the fields it changed: the others are as the device started.
    const device = Object.hasOwn(conflict.client_data, name) ? conflict.client_data[name] : base === null ? server : base[name];
    if (base === null) {
      if (!same(device, server)) rows.push([name, cell(device), cell(server)]);
      continue;
    }
    const byDevice = !same(base[name], device);
    const byServer = !same(base[name], server);
    if (!byDevice && !byServer) continue;
    const changedBy = byDevice && byServer ? "both" : byDevice ? "this device" : "server";
    rows.push([name, cell(base[name]), cell(device), cell(server), changedBy]);
  }
  const title = `Conflict ${conflict.conflict_id}: ${conflict.conflict_type} on ${conflict.entity_type} ${conflict.entity_id}\n`;
  if (rows.length === 0) return `${title}No field differs.\n`;
  const header = base === null ? ["FIELD", "THIS DEVICE", "SERVER"] : ["FIELD", "BASE", "THIS DEVICE", "SERVER", "CHANGED BY"];
  return title + formatTable(header, rows);
}

async function askStrategy(parked: ParkedConflict): Promise<Policy> {
  if (!process.stdin.isTTY) throw new UsageError(`Choose how to resolve with --strategy ${Object.values(ResolutionPolicy).join("|")}.`);
  const { conflict } = parked;
  process.stderr.write(describeConflict(conflict));
  const choices: Record<string, Policy> = { s: "server_wins", c: "client_wins", l: "last_write_wins", m: "merge" };
  for (;;) {
    const answer = (await promptLine("Keep [s]erver, [c]lient, [l]ast write, or [m]erge? ")).trim().toLowerCase();
    const chosen = Object.hasOwn(choices, answer[0] ?? "") ? choices[answer[0] ?? ""] : undefined;
    if (chosen) return chosen;
  }
}

async function devices({ args, home }: Context): Promise<number> {
  const sub = args.positionals[0];
  const api = apiFor(home);
  if (sub === "revoke") {
    const id = positional(args, 1, "the id of the device to revoke");
    const answer = await api.revokeDevice(id);
    if (id === home.config.device_id) await home.tokens.clear();
    process.stdout.write(`${answer.message}.\n`.replace(/\.\.\n$/, ".\n"));
    return 0;
  }
  if (sub !== undefined) throw new UsageError(`Unknown devices command '${sub}'; use 'devices' or 'devices revoke <id>'.`);
  const answer = await api.listDevices({ include_inactive: args.flags["all"] === true });
  if (args.flags["json"] === true) {
    printJson(answer.devices);
    return 0;
  }
  const rows = answer.devices.map((d) => [
    d.device_id === home.config.device_id ? `${d.device_id} *` : d.device_id,
    d.device_name,
    d.platform,
    d.last_sync_at ?? "never",
    d.is_active ? "active" : "revoked",
  ]);
  process.stdout.write(formatTable(["ID", "NAME", "PLATFORM", "LAST SYNC", "STATE"], rows));
  return 0;
}

async function watch({ args, home }: Context): Promise<number> {
  const interval = Number(stringFlag(args, "interval") ?? "60");
  if (!Number.isFinite(interval) || interval <= 0) throw new UsageError("--interval takes a number of seconds above zero.");
  const timesFlag = stringFlag(args, "times");
  const times = timesFlag === undefined ? Infinity : Number(timesFlag);
  if (!Number.isInteger(times) && times !== Infinity) throw new UsageError("--times takes a whole number.");
  const strategy = strategyOf(args);
  let stopped = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    return await withStore(home, async (store) => {
      for (let round = 1; !stopped && round <= times; round++) {
        try {
          const { summary, rejected } = await runSync(home, store, strategy, false);
          process.stdout.write(`${new Date().toISOString()} ${summaryLine(summary)}\n`);
          reportRejected(rejected);
        } catch (error) {
          // Offline or a busy server: say so and try again at the next tick; anything else stops.
          if (!(error instanceof ApiError) || !error.retryable) throw error;
          process.stderr.write(`${new Date().toISOString()} ${error.message}; trying again in ${interval}s.\n`);
        }
        if (round < times && !stopped) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, interval * 1000);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      }
      return 0;
    });
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
