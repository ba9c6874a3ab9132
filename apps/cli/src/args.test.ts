import { describe, expect, it } from "vitest";
import { parseArgs } from "./args";

describe("parseArgs", () => {
  it("reads a command, positionals and --field value pairs", () => {
    expect(parseArgs(["edit", "volunteer", "abc", "--name", "Ana", "--email=ana@example.org"])).toEqual({
      command: "edit",
      positionals: ["volunteer", "abc"],
      flags: { name: "Ana", email: "ana@example.org" },
    });
  });

  it("treats a flag followed by another flag as a switch", () => {
    expect(parseArgs(["list", "task", "--json", "--home", "/tmp/x"]).flags).toEqual({ json: true, home: "/tmp/x" });
  });

  it("keeps everything after -- as positionals, even if it looks like a flag", () => {
    expect(parseArgs(["rm", "task", "--", "--weird-id"]).positionals).toEqual(["task", "--weird-id"]);
  });

  it("does not let a __proto__ flag touch the prototype", () => {
    const { flags } = parseArgs(["add", "volunteer", "--__proto__", "x"]);
    expect(Object.getPrototypeOf(flags)).toBeNull();
    expect(flags["__proto__"]).toBe("x");
  });

  it("is strict about an empty option name", () => {
    expect(() => parseArgs(["add", "volunteer", "--", "x"])).not.toThrow();
    expect(parseArgs(["add", "--=x"]).flags).toEqual({ "": "x" });
  });
});
