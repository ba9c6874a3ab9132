import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const consoleDir = fileURLToPath(new URL("..", import.meta.url));

export interface ConsoleProcess {
  url: string;
  /** The server's process id, to read its memory from /proc. */
  pid: number | undefined;
  output: () => string;
  stop(): Promise<void>;
}

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

export interface StartOptions {
  /** What answering 200 means "up" (default `/readyz`; `/healthz` for an instance started with a dependency down). */
  readyPath?: string;
  /** Flags for the server's node process (`--cpu-prof`, say). */
  nodeArgs?: readonly string[];
}

/** Starts the production build (`pnpm start`'s server) on a free port with its own data directory. */
export async function startConsole(env: Record<string, string> = {}, options: StartOptions = {}): Promise<ConsoleProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "repensar-console-"));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), "scripts/serve.mjs"], {
    cwd: consoleDir,
    env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}${options.readyPath ?? "/readyz"}`, child, () => log);
  return {
    url,
    pid: child.pid,
    output: () => log,
    stop: async () => {
      await stop(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitUntilUp(probe: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`console exited with ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(probe);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop(child);
  throw new Error(`console did not become ready:\n${log()}`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
  });
}

/** Runs the server expecting it to stop; resolves with its exit code and output. */
export async function runUntilExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["scripts/serve.mjs"], {
    cwd: consoleDir,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  return { code, output };
}
