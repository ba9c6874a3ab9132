import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { LocalStoreError, LocalStoreErrorCode } from "../errors";
import type { Tokens, TokenStore } from "./token-store";

const OWNER_ONLY = 0o600;

/**
 * Tokens in a JSON file only its owner can read (mode 0600, in a directory created 0700).
 * A save writes a temporary file beside it, fsyncs it, renames it over the old one and fsyncs the
 * directory, so a crash leaves either the old tokens or the new ones, never half a file.
 */
export function createFileTokenStore(path: string): TokenStore {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
      return parseTokens(text, path);
    },

    async save(tokens) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
      const file = await open(temporary, "wx", OWNER_ONLY);
      try {
        // The umask can only take permissions away, but an existing ACL or odd umask should not widen them.
        await file.chmod(OWNER_ONLY);
        await file.writeFile(JSON.stringify(tokens), "utf8");
        await file.sync();
      } finally {
        await file.close();
      }
      try {
        await rename(temporary, path);
      } catch (error) {
        await unlink(temporary);
        throw error;
      }
      await chmod(path, OWNER_ONLY);
      await syncDirectory(dirname(path));
    },

    async clear() {
      try {
        await unlink(path);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    },
  };
}

/**
 * The rename lives in the directory's entries: until those reach the disk, a power cut can bring
 * back the old tokens, whose refresh token the server has already rotated away. Windows cannot
 * open a directory for this, and its rename is durable once it returns.
 */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ENOENT";
}

function parseTokens(text: string, path: string): Tokens {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LocalStoreError(LocalStoreErrorCode.CorruptData, `The token file ${path} is not JSON`, { cause: error });
  }
  if (
    typeof value === "object" &&
    value !== null &&
    "access_token" in value &&
    "refresh_token" in value &&
    typeof value.access_token === "string" &&
    typeof value.refresh_token === "string"
  ) {
    const expires = "expires_at" in value && typeof value.expires_at === "string" ? value.expires_at : null;
    return { access_token: value.access_token, refresh_token: value.refresh_token, expires_at: expires };
  }
  throw new LocalStoreError(LocalStoreErrorCode.CorruptData, `The token file ${path} does not hold tokens`);
}
