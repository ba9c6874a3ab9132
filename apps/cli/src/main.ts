import { ApiError, ClientErrorCode, LocalStoreError } from "@repensar/sync-client";
import { parseArgs, UsageError } from "./args";
import { run } from "./commands";
import { PromptCancelled } from "./prompt";

/** Entry point of `repensar-sync`: one clear sentence and a non-zero exit code on any error. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await run(parseArgs(argv));
  } catch (error) {
    process.stderr.write(`repensar-sync: ${sentence(describe(error))}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/** What went wrong, in the user's terms. */
function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.revoked) {
      return error.code === "DEVICE_INACTIVE"
        ? "This device has been revoked; sign in again with 'repensar-sync login'"
        : "The server ended this session; sign in again with 'repensar-sync login'";
    }
    if (error.code === ClientErrorCode.NotSignedIn) return "Not signed in; run 'repensar-sync login --server URL --email E' first";
    return error.message;
  }
  if (error instanceof LocalStoreError && error.issues.length > 0) {
    const issues = error.issues.map((issue) => `${issue.loc.join(".") || "data"}: ${issue.msg.replace(/[.\s]+$/, "")}`).join("; ");
    return `${error.message.split(":")[0] ?? "Not valid"} (${issues})`;
  }
  if (error instanceof PromptCancelled) return error.message;
  return error instanceof Error ? error.message : String(error);
}

function sentence(text: string): string {
  const line = text.replaceAll(/\s*\n\s*/g, " ").trim();
  return /[.!?]$/.test(line) ? line : `${line}.`;
}
