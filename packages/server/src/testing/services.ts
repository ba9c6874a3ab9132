import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/*
 * Servers of a test's own, on ports of their own, for tests that stop and restart them: never the
 * machine's shared PostgreSQL or Redis.
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Whether `command` can be run here (the fault tests skip without it). */
export function hasCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}:\n${output()}`);
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

export interface ThrowawayServer {
  port: number;
  url: string;
  /** Stops the server (the port stays this test's: `start` listens there again). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  dispose(): Promise<void>;
}

/** `redis-server` on a free port, keeping nothing on disk. */
export async function startThrowawayRedis(): Promise<ThrowawayServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    let log = "";
    const started = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    started.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    started.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    child = started;
    await waitForPort(port, started, () => log);
  };
  await start();
  const stop = async () => {
    if (child) await stopChild(child);
  };
  return { port, url: `redis://127.0.0.1:${port}`, start, stop, dispose: stop };
}

/**
 * A PostgreSQL cluster of its own: `initdb` into a temporary directory, then `postgres -p N`.
 * As root, both run as the `postgres` user, which initdb requires.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "repensar-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? userIds("postgres") : undefined;
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chmodSync(dir, 0o700);
  }
  const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const init = spawnSync("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], { ...ids, encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  let child: ChildProcess | undefined;
  const start = async () => {
    let log = "";
    const started = spawn(
      "postgres",
      ["-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dir}`, "-c", "fsync=off"],
      { ...ids, stdio: ["ignore", "pipe", "pipe"] },
    );
    started.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    started.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    child = started;
    await waitForPort(port, started, () => log);
  };
  await start();
  // Fast shutdown: open connections are ended at once, as when the database goes away.
  const stop = async () => {
    if (child) await stopChild(child, "SIGINT");
  };
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(spawnSync("id", ["-u", name], { encoding: "utf8" }).stdout.trim());
  const gid = Number(spawnSync("id", ["-g", name], { encoding: "utf8" }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`no user '${name}' to run PostgreSQL as`);
  return { uid, gid };
}
