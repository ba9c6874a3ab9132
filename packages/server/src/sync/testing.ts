import { randomUUID } from "node:crypto";
import { PROTOCOL_HEADER, PROTOCOL_VERSION, type Role } from "@repensar/contracts";
import { schema, type DatabaseHandle } from "@repensar/db";
import { sql } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import { issueAccessToken } from "../auth/tokens";
import { createInnerTrpcContext } from "../trpc/context";
import { createCaller } from "../trpc/index";
import type { TestServer } from "../testing/harness";

/** A signed-in user with one registered device, talking to the test server over HTTP. */
export interface SyncActor {
  userId: string;
  orgId: string;
  deviceId: string;
  role: Role;
  /** Authorization and content type, for requests made by hand. */
  headers: Record<string, string>;
  post(path: string, body: unknown, init?: RequestInit): Promise<Response>;
  get(path: string): Promise<Response>;
  /** Waits until the rows written so far are settled (see `settle`). */
  settle(): Promise<void>;
  /** POST and parse, failing loudly on an unexpected status. */
  call<T = Record<string, unknown>>(path: string, body: unknown, status?: number): Promise<T>;
}

export async function createOrganization(server: TestServer, name = "Org"): Promise<string> {
  const [org] = await server.app.context.database.db.insert(schema.organizations).values({ name }).returning();
  if (!org) throw new Error("no organization");
  return org.id;
}

/** A user of `orgId` (a new organization when absent) with a device and a device-bound access token. */
export async function createActor(server: TestServer, options: { orgId?: string; role?: Role } = {}): Promise<SyncActor> {
  const ctx = server.app.context;
  const { db } = ctx.database;
  const orgId = options.orgId ?? (await createOrganization(server));
  const role = options.role ?? "member";
  const [user] = await db
    .insert(schema.users)
    .values({ email: `${randomUUID()}@example.org`, name: "User", passwordHash: "x" })
    .returning();
  if (!user) throw new Error("no user");
  await db.insert(schema.memberships).values({ orgId, userId: user.id, role });
  const deviceId = randomUUID();
  await db.insert(schema.devices).values({ deviceId, userId: user.id, orgId, deviceName: "Test device", deviceType: "desktop", platform: "linux" });
  const { token } = await issueAccessToken(ctx, { userId: user.id, orgId, role, deviceId, familyId: null });
  // Speaks the current protocol, as the SDK does; a source-document client sends no protocol header.
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/json", [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) };
  const post = (path: string, body: unknown, init: RequestInit = {}) =>
    server.fetch(path, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body), ...init });
  return {
    userId: user.id,
    orgId,
    deviceId,
    role,
    headers,
    post,
    get: (path) => server.fetch(path, { headers }),
    settle: () => settle(ctx.database),
    call: async <T,>(path: string, body: unknown, status = 200): Promise<T> => {
      const res = await post(path, body);
      const text = await res.text();
      if (res.status !== status) throw new Error(`${path}: expected ${status}, got ${res.status}: ${text}`);
      return JSON.parse(text) as T;
    },
  };
}

/** The actor as the console sees it: signed in with a session, not a device. */
export const consolePrincipal = (actor: SyncActor): Principal => ({
  userId: actor.userId,
  orgId: actor.orgId,
  role: actor.role,
  deviceId: null,
  tokenId: "session",
  expiresAt: new Date(Date.now() + 60_000),
});

/** The console's tRPC routers, called in process as `actor`. */
export const consoleCaller = (server: TestServer, actor: SyncActor) =>
  createCaller(createInnerTrpcContext(server.app.context, { principal: consolePrincipal(actor) }));

/**
 * Waits until every transaction that began before this call has finished anywhere in the cluster.
 * A pull hands out only rows below its snapshot's xmin, and a shared PostgreSQL may be running
 * someone else's long transaction; tests that expect a change to be pullable wait for it first.
 */
export async function settle(database: DatabaseHandle): Promise<void> {
  const [mark] = await database.rows<{ xid: string }>(sql`select pg_current_xact_id()::text as xid`);
  if (!mark) throw new Error("no transaction id");
  for (let attempt = 0; attempt < 1200; attempt++) {
    const [check] = await database.rows<{ settled: boolean }>(
      sql`select pg_snapshot_xmin(pg_current_snapshot()) > ${mark.xid}::xid8 as settled`,
    );
    if (check?.settled) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("older transactions did not finish within a minute");
}
