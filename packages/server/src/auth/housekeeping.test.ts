import { schema } from "@repensar/db";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createActor } from "../sync/testing";
import { startTestServer, type TestServer } from "../testing/harness";
import { purgeExpiredAuthState } from "./housekeeping";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("purgeExpiredAuthState", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("deletes expired sign-in state and keeps what can still matter", async () => {
    const ctx = server.app.context;
    const { db } = ctx.database;
    const actor = await createActor(server);
    const now = Date.now();
    const at = (offset: number) => new Date(now + offset);
    await db.insert(schema.revokedAccessTokens).values([
      { jti: "expired", userId: actor.userId, expiresAt: at(-HOUR) },
      { jti: "live", userId: actor.userId, expiresAt: at(HOUR) },
    ]);
    await db.insert(schema.consoleSessions).values([
      { id: "old-session", userId: actor.userId, orgId: actor.orgId, expiresAt: at(-HOUR) },
      { id: "live-session", userId: actor.userId, orgId: actor.orgId, expiresAt: at(DAY) },
    ]);
    await db.insert(schema.invitations).values([
      { orgId: actor.orgId, email: "old@example.org", role: "member", tokenHash: "h-old", expiresAt: at(-8 * DAY) },
      { orgId: actor.orgId, email: "recent@example.org", role: "member", tokenHash: "h-recent", expiresAt: at(-DAY) },
    ]);
    const families = await db
      .insert(schema.refreshTokenFamilies)
      .values([
        { userId: actor.userId, orgId: actor.orgId, expiresAt: at(-2 * DAY) },
        { userId: actor.userId, orgId: actor.orgId, expiresAt: at(DAY), revokedAt: at(-HOUR), revokedReason: "logout" },
      ])
      .returning({ id: schema.refreshTokenFamilies.id });
    await db.insert(schema.refreshTokens).values(families.map((f, i) => ({ tokenHash: `t${i}-${f.id}`, familyId: f.id, generation: 0 })));

    const report = await purgeExpiredAuthState(ctx);
    expect(report).toEqual({ revokedAccessTokens: 1, consoleSessions: 1, invitations: 1, refreshTokenFamilies: 1 });

    const left = async (table: string) =>
      (await ctx.database.rows<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)}`))[0]?.n;
    expect(await left("revoked_access_tokens")).toBe(1);
    expect(await left("console_sessions")).toBe(1);
    expect(await left("invitations")).toBe(1);
    // A revoked family still inside its lifetime stays, so its tokens keep failing as revoked.
    expect(await left("refresh_token_families")).toBe(1);
    expect(await left("refresh_tokens")).toBe(1);
  });
});
