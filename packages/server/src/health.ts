import type { ServerContext } from "./context";
import { json } from "./http/respond";
import type { Router } from "./http/router";

type Check = "ok" | "down";

export async function readiness(ctx: ServerContext): Promise<{ ready: boolean; checks: Record<string, Check> }> {
  const checks: Record<string, Check> = {};
  const probe = async (name: string, ping: () => Promise<void>) => {
    try {
      await withTimeout(ping(), 3_000);
      checks[name] = "ok";
    } catch {
      checks[name] = "down";
    }
  };
  await Promise.all([
    probe("database", () => ctx.database.ping()),
    ...(ctx.kv.kind === "redis" ? [probe("redis", () => ctx.kv.ping())] : []),
  ]);
  return { ready: Object.values(checks).every((c) => c === "ok"), checks };
}

export function registerHealthRoutes(router: Router, ctx: ServerContext): void {
  router.on("GET", "/healthz", async () => json({ status: "ok" }));
  router.on("GET", "/readyz", async () => {
    const { ready, checks } = await readiness(ctx);
    if (ready) return json({ status: "ok", checks });
    const down = Object.entries(checks)
      .filter(([, c]) => c === "down")
      .map(([name]) => name);
    return json(
      { status: "unavailable", checks, code: "SERVICE_UNAVAILABLE", detail: `Not ready: ${down.join(" and ")} ${down.length > 1 ? "are" : "is"} not reachable.` },
      503,
    );
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
