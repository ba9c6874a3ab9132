import { createApiClient } from "../../src/api/client";
import type { SyncStore } from "../../src/sync-manager";
import { SyncManager } from "../../src/sync-manager";
import { createMemoryTokenStore } from "../../src/tokens/token-store";
import { PAGE, stubFetch } from "../pull-stub";

export interface SyncTiming {
  /** The sync's time less the stub server's. */
  readonly clientMs: number;
  readonly pulled: number;
}

/** An initial sync of `rows` volunteers from the stub server into `store`, as the apps run it. */
export async function initialSync(store: SyncStore, rows: number): Promise<SyncTiming> {
  const spent = { ms: 0 };
  const tokens = createMemoryTokenStore({ access_token: "stub", refresh_token: "stub", expires_at: null });
  const api = createApiClient({ baseUrl: "http://stub.invalid", tokens, fetch: stubFetch(rows, spent) });
  const manager = new SyncManager({
    api,
    store,
    tokens,
    device: { device_id: "bench-device", device_name: "bench", device_type: "web", platform: "web" },
    pullLimit: PAGE,
  });
  const start = performance.now();
  const summary = await manager.sync();
  return { clientMs: performance.now() - start - spent.ms, pulled: summary.pulled };
}
