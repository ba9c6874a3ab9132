import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { sourceExamples } from "../fixtures/source-examples";
import { LoginRequest, MeResponse, RegisterRequest, TokenResponse } from "./auth";
import { ConflictListQuery, ResolveConflictRequest } from "./conflicts";
import { DeviceListQuery, DeviceRegisterRequest } from "./devices";
import { PullRequest, PullRequestWithKnownTypes, unknownEntityTypes } from "./pull";
import { ConflictData, PushChange, PushRequest } from "./push";
import { SyncStatusQuery } from "./status";

const DEVICE = "550e8400-e29b-41d4-a716-446655440000";

const change = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  entity_type: "volunteer",
  entity_id: "0190f3a4-7b1e-7c3d-9a2b-1c2d3e4f5a6b",
  operation: "CREATE",
  data: { name: "Ada" },
  version: 0,
  ...overrides,
});

const issuePaths = (result: { error?: z.ZodError | undefined }): PropertyKey[][] =>
  (result.error?.issues ?? []).map((issue) => issue.path);

describe("auth messages", () => {
  it("refuses a password under 8 or over 256 characters at registration", () => {
    const base = { email: "a@example.com", name: "Ada" };
    expect(RegisterRequest.safeParse({ ...base, password: "1234567" }).success).toBe(false);
    expect(RegisterRequest.safeParse({ ...base, password: "12345678" }).success).toBe(true);
    expect(RegisterRequest.safeParse({ ...base, password: "x".repeat(256) }).success).toBe(true);
    expect(RegisterRequest.safeParse({ ...base, password: "x".repeat(257) }).success).toBe(false);
  });

  it("refuses an email that is not one", () => {
    expect(RegisterRequest.safeParse({ email: "not-an-email", password: "12345678", name: "Ada" }).success).toBe(false);
    expect(LoginRequest.safeParse({ email: "nope", password: "x" }).success).toBe(false);
  });

  it("accepts login with an optional device_id", () => {
    expect(LoginRequest.parse({ email: "a@example.com", password: "x", device_id: DEVICE }).device_id).toBe(DEVICE);
  });

  it("accepts our additions on the token response and string ids", () => {
    const body = JSON.parse(sourceExamples.loginResponse) as Record<string, unknown>;
    const parsed = TokenResponse.parse({
      ...body,
      user: { id: "0190f3a4-7b1e", email: "u@example.com", name: "U", organization_id: "org1", role: "admin" },
    });
    expect(parsed.user.role).toBe("admin");
    expect(TokenResponse.safeParse({ ...body, token_type: "mac" }).success).toBe(false);
  });

  it("refuses a role that is neither admin nor member", () => {
    const me = { user: { id: "u", email: "u@example.com", name: "U" }, organization: { id: "o", name: "O" }, device_id: null };
    expect(MeResponse.safeParse({ ...me, role: "member" }).success).toBe(true);
    expect(MeResponse.safeParse({ ...me, role: "owner" }).success).toBe(false);
  });
});

describe("device messages", () => {
  const registration = JSON.parse(sourceExamples.deviceRegisterRequest) as Record<string, unknown>;

  it("refuses an unknown device type or platform", () => {
    expect(DeviceRegisterRequest.safeParse({ ...registration, device_type: "watch" }).success).toBe(false);
    expect(DeviceRegisterRequest.safeParse({ ...registration, platform: "beos" }).success).toBe(false);
  });

  it("reads include_inactive from the query string words true/false/1/0, default false", () => {
    expect(DeviceListQuery.parse({}).include_inactive).toBe(false);
    expect(DeviceListQuery.parse({ include_inactive: "true" }).include_inactive).toBe(true);
    expect(DeviceListQuery.parse({ include_inactive: "1" }).include_inactive).toBe(true);
    expect(DeviceListQuery.parse({ include_inactive: "false" }).include_inactive).toBe(false);
    expect(DeviceListQuery.parse({ include_inactive: "0" }).include_inactive).toBe(false);
    expect(DeviceListQuery.parse({ include_inactive: true }).include_inactive).toBe(true);
  });

  it("refuses any other query word rather than reading it as false", () => {
    for (const word of ["yes", "no", "", "2", "truee"]) {
      expect(DeviceListQuery.safeParse({ include_inactive: word }).success, word).toBe(false);
    }
  });

  it("ignores fields it does not know (a newer client stays compatible)", () => {
    const parsed = DeviceRegisterRequest.parse({ ...registration, screen: "6.1in" });
    expect(parsed).not.toHaveProperty("screen");
  });
});

describe("pull messages", () => {
  const pull = { device_id: DEVICE, entity_types: ["volunteer"] };

  it("bounds limit to 1..1000", () => {
    expect(PullRequest.safeParse({ ...pull, limit: 0 }).success).toBe(false);
    expect(PullRequest.safeParse({ ...pull, limit: 1 }).success).toBe(true);
    expect(PullRequest.safeParse({ ...pull, limit: 1000 }).success).toBe(true);
    expect(PullRequest.safeParse({ ...pull, limit: 1001 }).success).toBe(false);
    expect(PullRequest.safeParse({ ...pull, limit: 10.5 }).success).toBe(false);
  });

  it("needs at least one entity type and a device_id", () => {
    expect(PullRequest.safeParse({ ...pull, entity_types: [] }).success).toBe(false);
    expect(PullRequest.safeParse({ entity_types: ["volunteer"] }).success).toBe(false);
  });

  it("leaves unknown entity types to the server, which names each one", () => {
    const request = { ...pull, entity_types: ["volunteer", "spaceship", "task", "dragon"] };
    expect(PullRequest.safeParse(request).success).toBe(true);
    expect(unknownEntityTypes(request.entity_types)).toEqual(["spaceship", "dragon"]);
    const checked = PullRequestWithKnownTypes.safeParse(request);
    expect(issuePaths(checked)).toEqual([
      ["entity_types", 1],
      ["entity_types", 3],
    ]);
    expect(checked.error?.issues[0]?.message).toBe("Unknown entity type 'spaceship'");
    expect(PullRequestWithKnownTypes.safeParse(pull).success).toBe(true);
  });
});

describe("push messages", () => {
  it("refuses an unknown operation", () => {
    expect(PushChange.safeParse(change({ operation: "UPSERT" })).success).toBe(false);
    expect(PushChange.safeParse(change({ operation: "create" })).success).toBe(false);
  });

  it("refuses more than 1000 changes, and accepts exactly 1000", () => {
    const changes = (n: number) => Array.from({ length: n }, (_, i) => change({ entity_id: `row-${i}` }));
    expect(PushRequest.safeParse({ device_id: DEVICE, changes: changes(1000) }).success).toBe(true);
    const tooMany = PushRequest.safeParse({ device_id: DEVICE, changes: changes(1001) });
    expect(issuePaths(tooMany)).toEqual([["changes"]]);
  });

  it("bounds entity_id to 1..128 characters and version to whole numbers from 0", () => {
    expect(PushChange.safeParse(change({ entity_id: "" })).success).toBe(false);
    expect(PushChange.safeParse(change({ entity_id: "x".repeat(128) })).success).toBe(true);
    expect(PushChange.safeParse(change({ entity_id: "x".repeat(129) })).success).toBe(false);
    expect(PushChange.safeParse(change({ version: -1 })).success).toBe(false);
    expect(PushChange.safeParse(change({ version: 1.5 })).success).toBe(false);
  });

  it("wants data to be an object, not an array or null", () => {
    expect(PushChange.safeParse(change({ data: [] })).success).toBe(false);
    expect(PushChange.safeParse(change({ data: null })).success).toBe(false);
    expect(PushChange.safeParse(change({ data: "x" })).success).toBe(false);
  });

  it("reports a __proto__ key in data instead of dropping it, and pollutes nothing", () => {
    const raw = JSON.parse('{"entity_type":"volunteer","entity_id":"v1","operation":"UPDATE","version":1,"data":{"__proto__":{"name":"Evil","isAdmin":true}}}') as unknown;
    const result = PushChange.safeParse(raw);
    expect(issuePaths(result)).toEqual([["data", "__proto__"]]);
    expect(({} as Record<string, unknown>)["isAdmin"]).toBeUndefined();
  });

  it("wants change_id to be a UUID and modified_at an ISO-8601 instant with offset", () => {
    expect(PushChange.safeParse(change({ change_id: "0190f3a4-7b1e-7c3d-9a2b-1c2d3e4f5a6b" })).success).toBe(true);
    expect(PushChange.safeParse(change({ change_id: "42" })).success).toBe(false);
    expect(PushChange.safeParse(change({ modified_at: "2025-10-27T11:30:00+02:00" })).success).toBe(true);
    expect(PushChange.safeParse(change({ modified_at: "2025-10-27T11:30:00" })).success).toBe(false);
    expect(PushChange.safeParse(change({ modified_at: "yesterday" })).success).toBe(false);
  });

  it("refuses a conflict type or suggestion it does not define", () => {
    const conflict = (JSON.parse(sourceExamples.pushResponseWithConflicts) as { conflicts: unknown[] }).conflicts[0] as Record<string, unknown>;
    expect(ConflictData.safeParse(conflict).success).toBe(true);
    expect(ConflictData.safeParse({ ...conflict, conflict_type: "cosmic_ray" }).success).toBe(false);
    expect(ConflictData.safeParse({ ...conflict, suggested_resolution: "coin_flip" }).success).toBe(false);
    expect(ConflictData.safeParse({ ...conflict, suggested_resolution: "merge" }).success).toBe(true);
  });
});

describe("conflict messages", () => {
  it("requires merged_data for a manual resolution", () => {
    for (const request of [{ resolution: "manual" }, { resolution: "manual", merged_data: null }]) {
      const result = ResolveConflictRequest.safeParse(request);
      expect(issuePaths(result)).toEqual([["merged_data"]]);
    }
  });

  it("refuses merged_data with a resolution that would ignore it", () => {
    expect(ResolveConflictRequest.safeParse({ resolution: "server_wins", merged_data: { name: "x" } }).success).toBe(false);
    expect(ResolveConflictRequest.safeParse({ resolution: "server_wins" }).success).toBe(true);
  });

  it("refuses an unknown resolution", () => {
    expect(ResolveConflictRequest.safeParse({ resolution: "last_write_wins" }).success).toBe(false);
  });

  it("reads unresolved_only from the query string, default true", () => {
    expect(ConflictListQuery.parse({})).toEqual({ unresolved_only: true, limit: 100, offset: 0 });
    expect(ConflictListQuery.parse({ unresolved_only: "false", device_id: DEVICE, limit: "5", offset: "10" })).toEqual({
      unresolved_only: false,
      device_id: DEVICE,
      limit: 5,
      offset: 10,
    });
    expect(ConflictListQuery.safeParse({ unresolved_only: "nope" }).success).toBe(false);
    expect(ConflictListQuery.safeParse({ limit: "0" }).success).toBe(false);
    expect(ConflictListQuery.safeParse({ limit: "ten" }).success).toBe(false);
  });
});

describe("status messages", () => {
  it("needs a device_id", () => {
    expect(SyncStatusQuery.safeParse({}).success).toBe(false);
    expect(SyncStatusQuery.parse({ device_id: DEVICE }).device_id).toBe(DEVICE);
  });
});
