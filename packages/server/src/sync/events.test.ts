import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../testing/harness";
import { pokeStream, publishPoke } from "./events";

async function readUntilClosed(response: Response, limitMs: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const next = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))]);
    if (next === null) break;
    if (next.done) return text;
    text += decoder.decode(next.value);
  }
  await reader.cancel();
  return `${text}[still open]`;
}

describe("the event stream's lifetime", () => {
  let server: TestServer;
  const orgId = "00000000-0000-4000-8000-000000000001";
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("ends when the token that opened it expires", async () => {
    const ctx = server.app.context;
    const res = await pokeStream(ctx, orgId, { until: new Date(Date.now() + 300), stillAuthorized: async () => true, heartbeatMs: 50 });
    const text = await readUntilClosed(res, 5_000);
    expect(text).toContain("event: ready");
    expect(text).toContain('event: end\ndata: {"reason":"token_expired"}');
    expect(text).not.toContain("[still open]");
  });

  it("ends at the first heartbeat after the token is revoked, and delivers pokes until then", async () => {
    const ctx = server.app.context;
    let authorized = true;
    const res = await pokeStream(ctx, orgId, { until: new Date(Date.now() + 60_000), stillAuthorized: async () => authorized, heartbeatMs: 100 });
    const reading = readUntilClosed(res, 5_000);
    await new Promise((r) => setTimeout(r, 150));
    await publishPoke(ctx, orgId, ["volunteer"]);
    await new Promise((r) => setTimeout(r, 150));
    authorized = false;
    const text = await reading;
    expect(text).toContain("event: poke");
    expect(text).toContain('event: end\ndata: {"reason":"token_revoked"}');
    expect(text).not.toContain("[still open]");
  });

  it("stays open while the token is valid", async () => {
    const ctx = server.app.context;
    const res = await pokeStream(ctx, orgId, { until: new Date(Date.now() + 60_000), stillAuthorized: async () => true, heartbeatMs: 50 });
    const text = await readUntilClosed(res, 400);
    expect(text).toContain(": keep-alive");
    expect(text).toContain("[still open]");
  });
});
