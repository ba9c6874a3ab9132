import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname, release } from "node:os";
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import type { DeviceInfo, LocalStore, TokenStore } from "@repensar/sync-client";
import { createFileTokenStore, createSqliteStore } from "@repensar/sync-client/node";
import { UsageError } from "./args";
import { readEnvironment } from "./env";
import { VERSION } from "./version";

const Config = z.object({
  /** The server signed in to; null before the first login. */
  server: z.string().nullable(),
  /** This home's device id: a UUID created once, kept across logins. */
  device_id: z.string().min(1),
  email: z.string().nullable(),
  /** The account signed in to on `server`; its local data belongs to this account alone. */
  user_id: z.string().nullable().default(null),
});
export type Config = z.infer<typeof Config>;

export class CliError extends Error {
  override name = "CliError";
}

/**
 * One device's home: `local.db` (the LocalStore), `tokens.json` (0600) and `config.json`.
 * Two homes side by side are two devices.
 */
export interface Home {
  readonly dir: string;
  readonly config: Config;
  saveConfig(next: Config): void;
  readonly tokens: TokenStore;
  openStore(): LocalStore;
  /** Removes the local database (rows, outbox, cursor): the next store opened starts empty. */
  removeStore(): void;
  device(): DeviceInfo;
}

export function homeDirectory(flag: string | true | undefined): string {
  if (flag === true) throw new UsageError("--home needs a directory.");
  const env = readEnvironment();
  const dir = flag ?? env.home ?? (env.userHome ? join(env.userHome, ".repensar-sync") : undefined);
  if (dir === undefined) throw new UsageError("No home directory: pass --home DIR or set REPENSAR_SYNC_HOME.");
  return resolve(dir);
}

export function openHome(dir: string): Home {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configPath = join(dir, "config.json");
  const existing = readConfig(configPath);
  let config: Config = existing ?? { server: null, device_id: randomUUID(), email: null, user_id: null };
  const storePath = join(dir, "local.db");
  if (!existing) writeConfig(configPath, config);
  const home: Home = {
    dir,
    get config() {
      return config;
    },
    saveConfig(next) {
      writeConfig(configPath, next);
      config = next;
    },
    tokens: createFileTokenStore(join(dir, "tokens.json")),
    openStore: () => createSqliteStore(storePath),
    removeStore: () => {
      for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${storePath}${suffix}`, { force: true });
    },
    device: () => ({
      device_id: config.device_id,
      device_name: `${hostname()} (${basename(dir)})`.slice(0, 200),
      device_type: "desktop",
      platform: nodePlatform(),
      os_version: release(),
      app_version: VERSION,
    }),
  };
  return home;
}

function nodePlatform(): "macos" | "windows" | "linux" {
  if (process.platform === "darwin") return "macos";
  if (process.platform === "win32") return "windows";
  return "linux";
}

function readConfig(path: string): Config | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return null;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not valid JSON`, { cause: error });
  }
  const parsed = Config.safeParse(value);
  if (!parsed.success) throw new CliError(`${path} is not a repensar-sync configuration`);
  return parsed.data;
}

function writeConfig(path: string, config: Config): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}
