import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ConflictCase } from "./conflict";
import { resolveConflict } from "./resolve";

const server = { name: "Ana", phone: "111", status: "active" };
const versionMismatch = (client: Record<string, unknown>, base?: Record<string, unknown>): ConflictCase => ({
  conflict_type: "version_mismatch",
  client_data: client,
  server_data: server,
  base_data: base,
});

describe("resolveConflict: server_wins and client_wins", () => {
  it("answers as named, whatever the conflict", () => {
    const conflict = versionMismatch({ phone: "222" });
    expect(resolveConflict("server_wins", conflict)).toEqual({ resolution: "server_wins" });
    expect(resolveConflict("client_wins", conflict)).toEqual({ resolution: "client_wins" });
  });
});

describe("resolveConflict: last_write_wins", () => {
  const at = (client_modified_at: string | null, server_modified_at: string | null): ConflictCase => ({
    ...versionMismatch({ phone: "222" }),
    client_modified_at,
    server_modified_at,
  });

  it("takes the later write, comparing instants rather than text", () => {
    expect(resolveConflict("last_write_wins", at("2024-05-01T10:00:01Z", "2024-05-01T10:00:00Z"))).toEqual({
      resolution: "client_wins",
    });
    expect(resolveConflict("last_write_wins", at("2024-05-01T10:00:00Z", "2024-05-01T11:00:01+01:00"))).toEqual({
      resolution: "server_wins",
    });
    // As text "11:00+01:00" sorts after "10:30Z", yet it is the earlier instant.
    expect(resolveConflict("last_write_wins", at("2024-05-01T10:30:00Z", "2024-05-01T11:00:00+01:00"))).toEqual({
      resolution: "client_wins",
    });
  });

  it("gives a tie to the server", () => {
    expect(resolveConflict("last_write_wins", at("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"))).toEqual({
      resolution: "server_wins",
    });
  });

  it("gives the server the win when a time is missing or unreadable", () => {
    expect(resolveConflict("last_write_wins", at(null, "2024-05-01T10:00:00Z")).resolution).toBe("server_wins");
    expect(resolveConflict("last_write_wins", at("2024-05-01T10:00:00Z", null)).resolution).toBe("server_wins");
    expect(resolveConflict("last_write_wins", at("soon", "2024-05-01T10:00:00Z")).resolution).toBe("server_wins");
  });

  it("is antisymmetric: swapping the two times swaps the winner unless they tie", () => {
    const instant = fc
      .date({ min: new Date("2020-01-01T00:00:00Z"), max: new Date("2030-01-01T00:00:00Z"), noInvalidDate: true })
      .map((d) => d.toISOString());
    fc.assert(
      fc.property(instant, instant, (a, b) => {
        const forward = resolveConflict("last_write_wins", at(a, b)).resolution;
        const backward = resolveConflict("last_write_wins", at(b, a)).resolution;
        if (a === b) {
          expect([forward, backward]).toEqual(["server_wins", "server_wins"]);
        } else {
          expect(forward).not.toBe(backward);
        }
      }),
    );
  });
});

describe("resolveConflict: merge", () => {
  it("with a base, merges the client's patch with the server's changes into a manual resolution", () => {
    const base = { name: "Ana", phone: "000", status: "active" };
    // The server changed phone, the client changed status.
    expect(resolveConflict("merge", versionMismatch({ status: "inactive" }, base))).toEqual({
      resolution: "manual",
      merged_data: { name: "Ana", phone: "111", status: "inactive" },
    });
  });

  it("with a base, falls back to server_wins when both changed a field differently", () => {
    const base = { name: "Ana", phone: "000", status: "active" };
    expect(resolveConflict("merge", versionMismatch({ phone: "222" }, base))).toEqual({ resolution: "server_wins" });
  });

  it("falls back to client_wins on an unclean merge when told so", () => {
    const base = { name: "Ana", phone: "000", status: "active" };
    expect(resolveConflict("merge", versionMismatch({ phone: "222" }, base), { uncleanMerge: "client_wins" })).toEqual({
      resolution: "client_wins",
    });
  });

  it("is server_wins when the merge changes nothing on the server (nothing new to write)", () => {
    const base = { name: "Ana", phone: "000", status: "active" };
    expect(resolveConflict("merge", versionMismatch({ phone: "111" }, base))).toEqual({ resolution: "server_wins" });
  });

  it("without a base, cannot tell a patched field from a concurrent change and keeps the server's row", () => {
    expect(resolveConflict("merge", versionMismatch({ phone: "222" }))).toEqual({ resolution: "server_wins" });
    expect(resolveConflict("merge", versionMismatch({ phone: "222" }), { uncleanMerge: "client_wins" })).toEqual({
      resolution: "client_wins",
    });
  });

  it("merges create_exists against an empty base: fields only one side set are kept", () => {
    const conflict: ConflictCase = {
      conflict_type: "create_exists",
      client_data: { name: "Ana", email: "ana@example.org" },
      server_data: { name: "Ana", phone: "111" },
    };
    expect(resolveConflict("merge", conflict)).toEqual({
      resolution: "manual",
      merged_data: { name: "Ana", phone: "111", email: "ana@example.org" },
    });
    expect(resolveConflict("merge", { ...conflict, client_data: { name: "Bea" } })).toEqual({ resolution: "server_wins" });
  });

  it("keeps whichever side still has data when a deletion meets an edit", () => {
    const deletedThenEdited: ConflictCase = { conflict_type: "update_on_deleted", client_data: { phone: "2" }, server_data: server };
    const editedThenDeleted: ConflictCase = { conflict_type: "delete_on_modified", client_data: {}, server_data: server };
    const createdOverTombstone: ConflictCase = {
      conflict_type: "create_exists",
      client_data: { name: "Bea" },
      server_data: server,
      server_deleted: true,
    };
    expect(resolveConflict("merge", deletedThenEdited)).toEqual({ resolution: "client_wins" });
    expect(resolveConflict("merge", editedThenDeleted)).toEqual({ resolution: "server_wins" });
    expect(resolveConflict("merge", createdOverTombstone)).toEqual({ resolution: "client_wins" });
  });
});
