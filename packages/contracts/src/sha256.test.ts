import { createHash } from "node:crypto";
import { expect, it } from "vitest";
import { sha256Hex } from "./sha256";

it("matches node:crypto on the FIPS vectors, block boundaries and non-ASCII text", () => {
  const samples = ["", "abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmjklmnklmnolmnopmnopqnopq", "é ✓ 🚀"];
  for (let n = 50; n < 140; n++) samples.push("x".repeat(n));
  for (const text of samples) expect(sha256Hex(text), JSON.stringify(text)).toBe(createHash("sha256").update(text).digest("hex"));
});
