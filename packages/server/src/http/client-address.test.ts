import { describe, expect, it } from "vitest";
import { clientAddress } from "./client-address";

const request = (headers: Record<string, string>) => new Request("http://localhost/auth/login", { headers });

describe("clientAddress", () => {
  it("uses the socket's peer address and ignores forwarding headers without a trusted proxy", () => {
    const spoofed = request({ "x-forwarded-for": "203.0.113.9", "x-real-ip": "203.0.113.10" });
    expect(clientAddress(spoofed, { remoteAddress: "198.51.100.7" }, false)).toBe("198.51.100.7");
  });

  it("behind a trusted proxy, takes the entry the proxy appended, not what the client prepended", () => {
    const forwarded = request({ "x-forwarded-for": "203.0.113.9, 10.0.0.1, 192.0.2.44" });
    expect(clientAddress(forwarded, { remoteAddress: "10.0.0.2" }, true)).toBe("192.0.2.44");
  });

  it("gives a client that rotates a spoofed left-hand entry the same address every time", () => {
    const seen = new Set(
      ["1.1.1.1", "2.2.2.2", "3.3.3.3"].map((fake) => clientAddress(request({ "x-forwarded-for": `${fake}, 192.0.2.44` }), {}, true)),
    );
    expect([...seen]).toEqual(["192.0.2.44"]);
  });

  it("falls back to X-Real-IP, then to the peer address", () => {
    expect(clientAddress(request({ "x-real-ip": "192.0.2.5" }), { remoteAddress: "10.0.0.2" }, true)).toBe("192.0.2.5");
    expect(clientAddress(request({}), { remoteAddress: "10.0.0.2" }, true)).toBe("10.0.0.2");
    expect(clientAddress(request({}), {}, false)).toBe("unknown");
  });
});
