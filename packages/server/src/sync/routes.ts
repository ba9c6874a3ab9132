import {
  ConflictListQuery,
  isEntityType,
  MERGE_PROTOCOL_VERSION,
  PROTOCOL_HEADER,
  protocolVersionOf,
  PullRequest,
  PullRequestWithKnownTypes,
  PushRequest,
  ResolveConflictRequest,
  SyncStatusQuery,
  unknownEntityTypes,
  syncSchema,
} from "@repensar/contracts";
import { authenticateAccessToken, authenticateRequest, requireActiveDevice } from "../auth/authenticate";
import { isAccessTokenRevoked } from "../auth/revocation";
import type { ServerContext } from "../context";
import { parseInput, queryObject, readJsonBody } from "../http/body";
import { json, jsonText } from "../http/respond";
import type { Router } from "../http/router";
import { listConflicts, resolveConflict } from "./conflicts";
import { pokeStream } from "./events";
import { metricsFor, requireMetricsToken } from "./metrics";
import { pullChangesBody } from "./pull";
import { pushChanges } from "./push";
import { syncStatus } from "./status";

/** /sync/pull, /sync/push, /sync/conflicts, /sync/status, /sync/schema, /sync/events, and /metrics. */
export function registerSyncRoutes(router: Router, ctx: ServerContext): void {
  router.on("POST", "/sync/pull", async ({ request, observed }) => {
    const principal = await authenticateRequest(ctx, request);
    const body = await readJsonBody(request, ctx.config.maxBodyBytes);
    const input = parseInput(PullRequest, body, "body");
    const entityTypes = [...new Set(input.entity_types.filter(isEntityType))];
    // A client newer than this server may name types it does not have: those are skipped and named
    // in the answer, so the rest still syncs. With none left there is no page to give: 422 as before.
    if (entityTypes.length === 0) parseInput(PullRequestWithKnownTypes, body, "body");
    const skipped = [...new Set(unknownEntityTypes(input.entity_types))];
    await requireActiveDevice(ctx, principal, input.device_id);
    const page = await pullChangesBody(ctx, principal, { ...input, entity_types: entityTypes, skipped_entity_types: skipped });
    if (page.changes === 0) observed.operation = "empty_poll";
    return jsonText(page.text);
  });

  router.on("POST", "/sync/push", async ({ request }) => {
    const principal = await authenticateRequest(ctx, request);
    const protocol = protocolVersionOf(request.headers.get(PROTOCOL_HEADER));
    const input = parseInput(PushRequest, await readJsonBody(request, ctx.config.maxBodyBytes), "body");
    await requireActiveDevice(ctx, principal, input.device_id);
    return json(await pushChanges(ctx, principal, input, { merges: protocol >= MERGE_PROTOCOL_VERSION }));
  });

  router.on("GET", "/sync/conflicts", async ({ request, url }) => {
    const principal = await authenticateRequest(ctx, request);
    const query = parseInput(ConflictListQuery, queryObject(url), "query");
    return json(await listConflicts(ctx, principal, query));
  });

  router.on("POST", "/sync/conflicts/:conflict_id/resolve", async ({ request, params }) => {
    const principal = await authenticateRequest(ctx, request);
    const input = parseInput(ResolveConflictRequest, await readJsonBody(request, ctx.config.maxBodyBytes), "body");
    return json(await resolveConflict(ctx, principal, params["conflict_id"] ?? "", input));
  });

  router.on("GET", "/sync/status", async ({ request, url }) => {
    const principal = await authenticateRequest(ctx, request);
    const query = parseInput(SyncStatusQuery, queryObject(url), "query");
    return json(await syncStatus(ctx, principal, query.device_id));
  });

  // Authenticated like every /sync route, though the definitions are no secret: it keeps the surface
  // uniform, and a client asks for them only once it is signed in.
  router.on("GET", "/sync/schema", async ({ request }) => {
    await authenticateRequest(ctx, request);
    return json(syncSchema());
  });

  router.on("GET", "/sync/events", async ({ request }) => {
    const { principal, claims } = await authenticateAccessToken(ctx, request);
    return pokeStream(ctx, principal.orgId, {
      until: principal.expiresAt,
      stillAuthorized: async () => !(await isAccessTokenRevoked(ctx, claims)),
    });
  });

  router.on("GET", "/metrics", async ({ request }) => {
    requireMetricsToken(ctx, request);
    const metrics = metricsFor(ctx);
    return new Response(await metrics.render(), { headers: { "content-type": metrics.contentType, "cache-control": "no-store" } });
  });
}
