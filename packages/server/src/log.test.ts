import { schema } from "@repensar/db";
import { openTestDatabase } from "@repensar/db/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorResponse } from "./http/respond";
import { createLogger, Disclosed } from "./log";

function captured(): { lines: () => string } {
  const out = vi.spyOn(console, "log").mockImplementation(() => {});
  const err = vi.spyOn(console, "error").mockImplementation(() => {});
  return { lines: () => [...out.mock.calls, ...err.mock.calls].map((c) => String(c[0])).join("\n") };
}

describe("the log keeps secrets out", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("does not write a failed request's query parameters (a device's push token) when it answers 500", async () => {
    const database = await openTestDatabase();
    try {
      const pushToken = "fcm-secret-push-token-1234567890";
      let failure: unknown;
      try {
        // No such user: the foreign key fails, and drizzle's error carries the parameters.
        await database.db.insert(schema.devices).values({
          deviceId: "d1",
          userId: "00000000-0000-4000-8000-000000000000",
          orgId: "00000000-0000-4000-8000-000000000000",
          deviceName: "Phone",
          deviceType: "android",
          platform: "android",
          pushToken,
        });
      } catch (error) {
        failure = error;
      }
      expect(String(failure)).toContain(pushToken);
      const log = captured();
      const response = errorResponse(failure, createLogger());
      expect(response.status).toBe(500);
      const written = log.lines();
      expect(written).toContain("unhandled error");
      expect(written).toContain("insert into");
      expect(written).not.toContain(pushToken);
    } finally {
      await database.close();
    }
  });

  it("redacts fields named like secrets and secrets inside text, but writes what is disclosed on purpose", () => {
    const log = captured();
    createLogger().warn("request failed: GET /sync/events?access_token=eyJabc.def&x=1", {
      refresh_token: "rt-secret",
      headers: { authorization: "Bearer eyJhbGciOi.secret" },
      url: "https://example.org/callback?token=tok-secret&push_token=push-secret",
      password: "hunter2-secret",
      generated: { password: new Disclosed("shown-once") },
    });
    const written = log.lines();
    for (const secret of ["eyJabc.def", "rt-secret", "eyJhbGciOi.secret", "tok-secret", "push-secret", "hunter2-secret"]) {
      expect(written).not.toContain(secret);
    }
    expect(written).toContain("shown-once");
    expect(written).toContain("x=1");
  });
});
