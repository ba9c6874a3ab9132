import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * Password hashing: argon2id with the OWASP parameters (m=19456 KiB, t=2, p=1), or scrypt
 * (N=2^17, r=8, p=1) on a platform where the argon2 binding cannot load. Both produce PHC
 * strings, so a verifier knows what a stored hash is.
 */
export const ARGON2_OPTIONS = { algorithm: 2 /* Argon2id */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const SCRYPT = { logN: 17, r: 8, p: 1, keyLength: 32 } as const;

interface Argon2 {
  hash(password: string, options: typeof ARGON2_OPTIONS): Promise<string>;
  verify(hashed: string, password: string): Promise<boolean>;
}

let argon2: Promise<Argon2 | null> | undefined;

/** The argon2 binding, or null where the native module cannot load. */
function loadArgon2(): Promise<Argon2 | null> {
  argon2 ??= import("@node-rs/argon2").then(
    (module): Argon2 => ({ hash: (password, options) => module.hash(password, options), verify: (hashed, password) => module.verify(hashed, password) }),
    () => null,
  );
  return argon2;
}

export async function hashPassword(password: string): Promise<string> {
  const binding = await loadArgon2();
  if (binding) return binding.hash(password, ARGON2_OPTIONS);
  return hashScrypt(password);
}

/** Whether `password` matches `stored`; false for a hash in a format this server does not know. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  if (stored.startsWith("$argon2")) {
    const binding = await loadArgon2();
    if (!binding) throw new Error("This password hash needs argon2, which cannot be loaded on this platform");
    return binding.verify(stored, password);
  }
  if (stored.startsWith("$scrypt$")) return verifyScrypt(stored, password);
  return false;
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the time a real verification would, for a login whose email is unknown, so the
 * answer's timing does not tell which emails have accounts.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(18).toString("base64url"));
  await verifyPassword(await dummyHash, password);
  return false;
}

function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function scryptOptions(logN: number, r: number, p: number): ScryptOptions {
  // 128 * N * r bytes are needed; leave headroom over node's 32 MiB default.
  return { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r };
}

/** `$scrypt$ln=17,r=8,p=1$<salt>$<key>` (base64, unpadded), as passlib and others write it. */
export async function hashScrypt(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keyLength, scryptOptions(SCRYPT.logN, SCRYPT.r, SCRYPT.p));
  return `$scrypt$ln=${SCRYPT.logN},r=${SCRYPT.r},p=${SCRYPT.p}$${b64(salt)}$${b64(key)}`;
}

async function verifyScrypt(stored: string, password: string): Promise<boolean> {
  const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(stored);
  if (!match) return false;
  const [, ln, r, p, salt, key] = match;
  const expected = Buffer.from(key ?? "", "base64");
  const actual = await scryptAsync(password, Buffer.from(salt ?? "", "base64"), expected.length, scryptOptions(Number(ln), Number(r), Number(p)));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function b64(buffer: Buffer): string {
  return buffer.toString("base64").replace(/=+$/, "");
}
