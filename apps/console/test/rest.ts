import { randomUUID } from "node:crypto";

/** A native client as the REST API sees it: one signed-in device. */
export interface RestDevice {
  deviceId: string;
  accessToken: string;
  call(path: string, body?: unknown): Promise<Response>;
  push(changes: unknown[]): Promise<PushAnswer>;
  pull(entityTypes: string[]): Promise<PulledChange[]>;
}

export interface PushAnswer {
  applied: number;
  results?: { status: string; version?: number; conflict_id?: string }[];
  conflicts: { conflict_id: string }[];
}

export interface PulledChange {
  entity_type: string;
  entity_id: string;
  operation: string;
  version: number;
  data: Record<string, unknown>;
}

async function expectOk(res: Response, what: string): Promise<unknown> {
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/**
 * Signs in with `device_id` and registers the device, as an app does on first start. `protocol`: the
 * `X-Repensar-Protocol` it sends (none, as a client written against the source document, by default).
 */
export async function signInDevice(
  baseUrl: string,
  email: string,
  password: string,
  name: string,
  platform = "android",
  protocol?: number,
): Promise<RestDevice> {
  const deviceId = randomUUID();
  const login = (await expectOk(
    await fetch(`${baseUrl}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password, device_id: deviceId }),
    }),
    "login",
  )) as { access_token: string };
  const accessToken = login.access_token;
  const call = (path: string, body?: unknown) =>
    fetch(`${baseUrl}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: {
        authorization: `Bearer ${accessToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(protocol === undefined ? {} : { "x-repensar-protocol": String(protocol) }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  await expectOk(
    await call("/sync/device/register", {
      device_id: deviceId,
      device_name: name,
      device_type: platform === "android" || platform === "ios" ? platform : "desktop",
      platform,
      os_version: "14",
      app_version: "2.3.0",
    }),
    "device register",
  );
  return {
    deviceId,
    accessToken,
    call,
    push: async (changes) => (await expectOk(await call("/sync/push", { device_id: deviceId, changes }), "push")) as PushAnswer,
    pull: async (entityTypes) => {
      const changes: PulledChange[] = [];
      let since: string | null = null;
      for (;;) {
        const page = (await expectOk(await call("/sync/pull", { device_id: deviceId, entity_types: entityTypes, since }), "pull")) as {
          changes: PulledChange[];
          sync_token: string;
          has_more: boolean;
        };
        changes.push(...page.changes);
        if (!page.has_more) return changes;
        since = page.sync_token;
      }
    },
  };
}
