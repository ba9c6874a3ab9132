import { ConfigError } from "@repensar/server";
import { getApp } from "./server";

/**
 * Validates the configuration (a bad value stops the process with a sentence naming the
 * variable), migrates the database and prepares the app before the first request.
 */
export async function start(): Promise<void> {
  try {
    await getApp();
  } catch (error) {
    const reason = error instanceof ConfigError ? error.message : `Could not start: ${error instanceof Error ? error.message : String(error)}`;
    console.error(reason);
    process.exit(1);
  }
}
