import { randomUUID } from "node:crypto";
import type { Role } from "@repensar/contracts";
import { schema } from "@repensar/db";
import { issueAccessToken } from "../auth/tokens";
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
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
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
    call: async <T,>(path: string, body: unknown, status = 200): Promise<T> => {
      const res = await post(path, body);
      const text = await res.text();
      if (res.status !== status) throw new Error(`${path}: expected ${status}, got ${res.status}: ${text}`);
      return JSON.parse(text) as T;
    },
  };
}
