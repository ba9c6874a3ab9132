import { schema } from "@repensar/db";
import { openTestDatabase } from "@repensar/db/testing";
import { describe, expect, it } from "vitest";
import { errorResponse } from "./http/respond";
import { Disclosed } from "./log";
import { capturedLogger } from "./testing/log";

describe("the log keeps secrets out", () => {

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
      const captured = capturedLogger();
      const response = errorResponse(failure, captured.log);
      expect(response.status).toBe(500);
      const written = captured.text();
      expect(written).toContain("unhandled error");
      expect(written).toContain("insert into");
      expect(written).not.toContain(pushToken);
    } finally {
      await database.close();
    }
  });

  it("writes only at or above its level, and redacts a child's bindings too", () => {
    const captured = capturedLogger("warn");
    captured.log.info("not written");
    const child = captured.log.child({ request_id: "r-1", token: "child-secret" });
    child.warn("written", { n: 1 });
    const lines = captured.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", message: "written", request_id: "r-1", token: "[redacted]", n: 1 });
    expect(captured.text()).not.toContain("child-secret");
  });

  it("redacts fields named like secrets and secrets inside text, but writes what is disclosed on purpose", () => {
    const captured = capturedLogger();
    captured.log.warn("request failed: GET /sync/events?access_token=eyJabc.def&x=1", {
      refresh_token: "rt-secret",
      headers: { authorization: "Bearer eyJhbGciOi.secret" },
      url: "https://example.org/callback?token=tok-secret&push_token=push-secret",
      password: "hunter2-secret",
      generated: { password: new Disclosed("shown-once") },
    });
    const written = captured.text();
    for (const secret of ["eyJabc.def", "rt-secret", "eyJhbGciOi.secret", "tok-secret", "push-secret", "hunter2-secret"]) {
      expect(written).not.toContain(secret);
    }
    expect(written).toContain("shown-once");
    expect(written).toContain("x=1");
  });
});
