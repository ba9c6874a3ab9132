import { volunteerData } from "./volunteer";

/**
 * A stub `/sync` server for the initial-sync benchmarks, with no Node dependency so it runs in a
 * browser too: pages of volunteers as `/sync/pull` renders them. `spent` adds up the time it takes
 * to render and hand a page over, which is the server's share, not the client's.
 */
export const PAGE = 1000;
/** The instant every stub row was written at. */
export const STUB_WRITTEN_AT = "2025-06-01T12:00:00.000Z";
const at = STUB_WRITTEN_AT;
const entityId = (i: number) => `00000000-0000-7000-8000-${String(i).padStart(12, "0")}`;

/** Page `p` of `rows`, as `/sync/pull` sends it. */
export function renderPage(rows: number, p: number): string {
  const changes = [];
  for (let i = p * PAGE; i < Math.min(rows, (p + 1) * PAGE); i++) {
    const id = entityId(i);
    changes.push({
      entity_type: "volunteer",
      entity_id: id,
      operation: "CREATE",
      data: { id, version: 1, created_at: at, updated_at: at, deleted_at: null, ...volunteerData(i) },
      version: 1,
      modified_at: at,
      modified_by_device_id: "seeder",
    });
  }
  const hasMore = (p + 1) * PAGE < rows;
  return JSON.stringify({ changes, sync_token: `page-${p + 1}`, has_more: hasMore, total_changes: changes.length });
}

export function stubFetch(rows: number, spent: { ms: number }): typeof fetch {
  return async (input, init) => {
    const start = performance.now();
    try {
      const path = new URL(String(input)).pathname;
      if (path === "/sync/device/register") {
        return Response.json({ device_id: "stub", registered_at: at, last_sync_at: null, message: "registered" });
      }
      if (path !== "/sync/pull") return Response.json({ detail: `the stub server does not answer ${path}`, code: "NOT_FOUND" }, { status: 404 });
      const body: unknown = JSON.parse(typeof init?.body === "string" ? init.body : "{}");
      const since = typeof body === "object" && body !== null && "since" in body ? body.since : null;
      const page = typeof since === "string" ? Number(since.replace("page-", "")) : 0;
      return new Response(renderPage(rows, page), { headers: { "content-type": "application/json" } });
    } finally {
      spent.ms += performance.now() - start;
    }
  };
}
