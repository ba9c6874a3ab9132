import type { Tokens } from "./token-store";

/**
 * The payload of a JWT, decoded without verifying the signature. Only for offline decisions on a
 * token this device stored itself (the source's "Offline Token Validation"); the server verifies.
 * `null` when the text is not a JWT with a JSON object payload.
 */
export function decodeJwtPayload(token: string): Record<string, unknown> | null {
  const parts = token.split(".");
  const payload = parts[1];
  if (parts.length !== 3 || payload === undefined) return null;
  try {
    const json = new TextDecoder().decode(base64UrlToBytes(payload));
    const value: unknown = JSON.parse(json);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
    return Object.fromEntries(Object.entries(value));
  } catch {
    // Undecodable is an answer here, not a failure: the token is simply not usable offline.
    return null;
  }
}

/** The access token's `exp` in Unix milliseconds, or `null` when it has none. */
export function accessTokenExpiry(token: string): number | null {
  const exp = decodeJwtPayload(token)?.["exp"];
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : null;
}

/**
 * Whether the stored tokens let the app work offline: the access token's `exp` (or, failing
 * that, the stored `expires_at`) is still ahead. It cannot see a revocation; the next sync does.
 */
export function isAuthenticatedOffline(tokens: Tokens | null, now: number = Date.now()): boolean {
  if (!tokens) return false;
  const exp = accessTokenExpiry(tokens.access_token) ?? (tokens.expires_at === null ? null : Date.parse(tokens.expires_at));
  return exp !== null && !Number.isNaN(exp) && now < exp;
}

function base64UrlToBytes(text: string): Uint8Array {
  const base64 = text.replaceAll("-", "+").replaceAll("_", "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
