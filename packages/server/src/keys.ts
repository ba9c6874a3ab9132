import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK, type CryptoKey } from "jose";
import type { Config } from "./config";

export const SIGNING_ALGORITHM = "EdDSA";

export interface SigningKeys {
  /** Signs access tokens. */
  privateKey: CryptoKey;
  /** Published at /.well-known/jwks.json, with `kid`, `alg` and `use`. */
  publicJwk: JWK & { kid: string };
  kid: string;
  /** HMAC secret for sync tokens and refresh-token derivation. */
  tokenSecret: Uint8Array;
}

/**
 * Signing keys from the configuration, else from DATA_DIR (generated there on first start,
 * mode 0600). Several instances must share them: set JWT_PRIVATE_KEY and TOKEN_SECRET.
 */
export async function loadSigningKeys(config: Config): Promise<SigningKeys> {
  const inMemory = config.dataDir.endsWith("/memory") || config.dataDir === "memory";
  const dir = join(config.dataDir, "keys");
  const pem = config.jwtPrivateKeyPem ?? (inMemory ? await newPem() : await readOrCreate(join(dir, "jwt-ed25519.pem"), newPem));
  const secret =
    config.tokenSecret ??
    (inMemory ? randomBytes(32).toString("base64url") : await readOrCreate(join(dir, "token-secret"), async () => randomBytes(32).toString("base64url")));
  return keysFrom(pem, secret);
}

export async function keysFrom(pem: string, secret: string): Promise<SigningKeys> {
  const privateKey = await importPKCS8(pem, SIGNING_ALGORITHM, { extractable: true });
  const { d: _private, ...publicPart } = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicPart);
  return {
    privateKey,
    publicJwk: { ...publicPart, kid, alg: SIGNING_ALGORITHM, use: "sig" },
    kid,
    tokenSecret: new TextEncoder().encode(secret),
  };
}

async function newPem(): Promise<string> {
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { crv: "Ed25519", extractable: true });
  return exportPKCS8(privateKey);
}

async function readOrCreate(path: string, create: () => Promise<string>): Promise<string> {
  if (existsSync(path)) return readFileSync(path, "utf8");
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  const value = await create();
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, value, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return readFileSync(path, "utf8");
}
