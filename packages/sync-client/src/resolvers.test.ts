import type { ConflictData } from "@repensar/contracts";
import { describe, expect, it } from "vitest";
import type { RowSyncState } from "./local-store";
import { callback, clientWins, deferred, lastWriteWins, merge, serverWins, suggested, type ConflictContext } from "./resolvers";

const conflict = (overrides: Partial<ConflictData> = {}): ConflictData => ({
  conflict_id: "c1",
  entity_type: "volunteer",
  entity_id: "v1",
  client_version: 1,
  server_version: 2,
  client_data: { phone: "555" },
  server_data: { id: "v1", version: 2, name: "Server name", email: "s@example.org", phone: null, skills: null, status: null, notes: null },
  client_modified_at: "2026-01-01T10:00:00Z",
  server_modified_at: "2026-01-01T09:00:00Z",
  conflict_type: "version_mismatch",
  suggested_resolution: "merge",
  ...overrides,
});

const base: RowSyncState = {
  row: { type: "volunteer", id: "v1", data: {}, version: 1, created_at: "", updated_at: "", deleted_at: null, pending: true },
  base: { version: 1, data: { name: "Original", email: null, phone: null, skills: null, status: null, notes: null }, deleted_at: null, updated_at: null },
  server: null,
  pending: [],
};

const context = (overrides: Partial<ConflictData> = {}, local: RowSyncState | null = base): ConflictContext => ({ conflict: conflict(overrides), local });

describe("resolvers", () => {
  it("server_wins and client_wins say so whatever the data", () => {
    expect(serverWins(context())).toEqual({ resolution: "server_wins" });
    expect(clientWins(context())).toEqual({ resolution: "client_wins" });
  });

  it("last_write_wins takes the later instant, and the server's row on a tie or an unknown time", () => {
    expect(lastWriteWins(context())).toEqual({ resolution: "client_wins" });
    expect(lastWriteWins(context({ client_modified_at: "2026-01-01T08:00:00Z" }))).toEqual({ resolution: "server_wins" });
    // Same instant written two ways: a tie.
    expect(lastWriteWins(context({ client_modified_at: "2026-01-01T11:00:00+02:00" }))).toEqual({ resolution: "server_wins" });
    expect(lastWriteWins(context({ client_modified_at: null }))).toEqual({ resolution: "server_wins" });
  });

  it("merge combines fields changed on different sides, against the local base, without system fields", () => {
    expect(merge(context())).toEqual({
      resolution: "manual",
      merged_data: { name: "Server name", email: "s@example.org", phone: "555", skills: null, status: null, notes: null },
    });
  });

  it("merge keeps the server's row when both sides changed the same field differently", () => {
    expect(merge(context({ client_data: { name: "Client name" } }))).toEqual({ resolution: "server_wins" });
  });

  it("merge without a local base only accepts what the server already holds", () => {
    expect(merge(context({}, null))).toEqual({ resolution: "server_wins" });
    expect(merge(context({ client_data: { email: "s@example.org" } }, null))).toEqual({ resolution: "server_wins" });
  });

  it("merge takes the conflict's base_data as the common ancestor when the server sends it", () => {
    // The device lost its copy of the base: the server's is enough for a three-way merge.
    const baseData = { id: "v1", version: 1, name: "Original", email: "s@example.org", phone: null, skills: null, status: null, notes: null };
    expect(merge(context({ base_data: baseData }, null))).toEqual({
      resolution: "manual",
      merged_data: { name: "Server name", email: "s@example.org", phone: "555", skills: null, status: null, notes: null },
    });
    // Both changed the name since the server's base: nothing merges.
    expect(merge(context({ base_data: baseData, client_data: { name: "Client name" } }, null))).toEqual({ resolution: "server_wins" });
  });

  it("merge keeps the side that still has data when one side deleted", () => {
    expect(merge(context({ conflict_type: "update_on_deleted" }))).toEqual({ resolution: "client_wins" });
    expect(merge(context({ conflict_type: "delete_on_modified", client_data: {} }))).toEqual({ resolution: "server_wins" });
  });

  it("suggested follows the entity's policy and leaves manual for later; deferred always leaves it", () => {
    expect(suggested(context({ suggested_resolution: "client_wins" }))).toEqual({ resolution: "client_wins" });
    expect(suggested(context({ suggested_resolution: "manual" }))).toBeNull();
    expect(deferred(context())).toBeNull();
  });

  it("callback hands the conflict and the local row to the app", async () => {
    const seen: ConflictContext[] = [];
    const resolver = callback(async (c) => {
      seen.push(c);
      return { resolution: "manual", merged_data: { name: "Chosen" } };
    });
    expect(await resolver(context())).toEqual({ resolution: "manual", merged_data: { name: "Chosen" } });
    expect(seen[0]?.local?.base?.data["name"]).toBe("Original");
  });
});
