import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const cliDir = fileURLToPath(new URL("..", import.meta.url));
const bin = `${cliDir}/dist/repensar-sync.js`;

describe("the built repensar-sync binary", () => {
  beforeAll(() => {
    execFileSync(process.execPath, ["--import", "tsx", "scripts/build.ts"], { cwd: cliDir, stdio: "pipe" });
  });

  it("prints its version and the protocol it speaks", () => {
    const out = execFileSync(bin, ["--version"], { encoding: "utf8" });
    expect(out).toMatch(/^repensar-sync \d+\.\d+\.\d+ \(protocol \d+\)\n$/);
  });

  it("answers an unknown command with one sentence and exit code 2", () => {
    const result = spawnSync(bin, ["frobnicate"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("repensar-sync: Unknown command 'frobnicate'. Run 'repensar-sync help' for the list.\n");
  });
});
