import { parseArgs, UsageError } from "./args";
import { run } from "./commands";

/** Entry point of `repensar-sync`: one clear sentence and a non-zero exit code on any error. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await run(parseArgs(argv));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`repensar-sync: ${message}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}
