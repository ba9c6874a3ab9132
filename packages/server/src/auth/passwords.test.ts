import { describe, expect, it } from "vitest";
import { hashPassword, hashScrypt, verifyAgainstDummy, verifyPassword } from "./passwords";

describe("password hashing", () => {
  it("hashes with argon2id at the OWASP parameters and verifies", async () => {
    const hash = await hashPassword("correct horse battery staple");
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, "correct horse battery staple")).toBe(true);
    expect(await verifyPassword(hash, "correct horse battery stapler")).toBe(false);
  });

  it("verifies the scrypt fallback's hashes (N=2^17)", async () => {
    const hash = await hashScrypt("s3cret-password");
    expect(hash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$/);
    expect(await verifyPassword(hash, "s3cret-password")).toBe(true);
    expect(await verifyPassword(hash, "s3cret-passworD")).toBe(false);
  });

  it("refuses a hash in an unknown format, and the dummy never matches", async () => {
    expect(await verifyPassword("plaintext", "plaintext")).toBe(false);
    expect(await verifyAgainstDummy("anything")).toBe(false);
  });
});
