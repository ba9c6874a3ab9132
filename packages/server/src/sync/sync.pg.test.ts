import { randomUUID } from "node:crypto";
import type { EntityChange, PullResponse, PushResponse } from "@repensar/contracts";
import { createDatabase } from "@repensar/db";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEnvironment } from "../env";
import { startTestServer, type TestServer } from "../testing/harness";
import { createActor } from "./testing";
import { create, push, pullAll, syncSuite, update } from "./sync-suite";

syncSuite("PostgreSQL");

describe("sync under concurrency on PostgreSQL", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("misses no commit: writers that sleep before COMMIT, a reader paging with limit 7", async () => {
    const url = readEnvironment()["DATABASE_URL"];
    if (!url) throw new Error("DATABASE_URL is not set");
    const reader = await createActor(server);
    const orgId = reader.orgId;
    // A connection of its own per writer.
    const writers = await Promise.all(Array.from({ length: 8 }, () => createDatabase({ url, poolSize: 1, migrate: false })));
    const ROWS_PER_WRITER = 6;
    try {
      // Writer 0 takes the lowest transaction id and commits last; later writers commit earlier.
      const writing = writers.map(async (db, w) => {
        await new Promise((r) => setTimeout(r, w * 40));
        await db.db.transaction(async (tx) => {
          for (let i = 0; i < ROWS_PER_WRITER; i++) {
            await db.rows(sql`insert into volunteers (org_id, id, name, version) values (${orgId}, ${`w${w}-r${i}`}, ${`Writer ${w}`}, 1) returning 1`, tx);
          }
          await db.rows(sql`select pg_sleep(${(8 - w) * 0.15}) is null as slept`, tx);
        });
      });
      let done = false;
      const allWritten = Promise.all(writing).then(() => {
        done = true;
      });

      const seen: EntityChange[] = [];
      let since: string | null = null;
      let pages = 0;
      // Page while writers are in flight, then drain once every one has committed.
      for (;;) {
        const finished = done;
        const page: PullResponse = await reader.call<PullResponse>("/sync/pull", {
          device_id: reader.deviceId,
          entity_types: ["volunteer"],
          since,
          limit: 7,
        });
        pages++;
        seen.push(...page.changes);
        since = page.sync_token;
        if (finished && !page.has_more) break;
        if (!page.has_more) await new Promise((r) => setTimeout(r, 25));
      }
      await allWritten;

      const committed = await server.app.context.database.rows<{ id: string }>(
        sql`select id from volunteers where org_id = ${orgId} order by id`,
      );
      const pulled = seen.map((c) => c.entity_id);
      expect(committed).toHaveLength(8 * ROWS_PER_WRITER);
      expect(new Set(pulled).size).toBe(pulled.length); // nothing repeated
      expect([...pulled].sort()).toEqual(committed.map((r) => r.id)); // nothing missed
      expect(pages).toBeGreaterThan(7);
    } finally {
      await Promise.all(writers.map((w) => w.close()));
    }
  });

  it("applies each of 100 changes once when the push is replayed 10 times at once", async () => {
    const a = await createActor(server);
    await push(a, Array.from({ length: 100 }, (_, i) => create(`r${i}`, { name: `R${i}` })));
    const edits = Array.from({ length: 100 }, (_, i) => update(`r${i}`, 1, { name: `R${i} edited`, notes: randomUUID() }));
    const answers = await Promise.all(Array.from({ length: 10 }, () => push(a, edits)));
    const first: PushResponse | undefined = answers[0];
    expect(first?.applied).toBe(100);
    for (const answer of answers) expect(answer.results).toEqual(first?.results);

    const rows = await server.app.context.database.rows<{ version: number; n: number }>(
      sql`select version, count(*)::int as n from volunteers where org_id = ${a.orgId} group by version`,
    );
    expect(rows).toEqual([{ version: 2, n: 100 }]);
    const conflicts = await server.app.context.database.rows<{ n: number }>(
      sql`select count(*)::int as n from sync_conflicts where org_id = ${a.orgId}`,
    );
    expect(conflicts[0]?.n).toBe(0);
    const pulled = await pullAll(a, { types: ["volunteer"], limit: 1000 });
    expect(pulled.changes.filter((c) => c.version === 2)).toHaveLength(100);
  });

  it("lets devices pushing the same rows in opposite orders wait for each other, never deadlock", async () => {
    const a = await createActor(server);
    const ids = Array.from({ length: 60 }, (_, i) => `shared-${String(i).padStart(2, "0")}`);
    await push(a, ids.map((id) => create(id, { name: id })));
    const devices = await Promise.all(Array.from({ length: 6 }, () => createActor(server, { orgId: a.orgId })));
    const answers = await Promise.all(
      devices.map((device, d) => {
        const order = d % 2 === 0 ? ids : [...ids].reverse();
        // Each batch also creates rows of its own and one row every batch wants to create.
        const changes = [...order.map((id) => update(id, 1, { notes: `from ${d}` })), create(`own-${d}`, { name: "Own" }), create("contested", { name: `by ${d}` })];
        return push(device, changes);
      }),
    );
    // Every row took exactly one of the six edits; the other five met it as a conflict.
    for (let i = 0; i < ids.length; i++) {
      const statuses = answers.map((answer) => answer.results?.[i]?.status);
      expect(statuses.filter((s) => s === "applied")).toHaveLength(1);
      expect(statuses.filter((s) => s === "conflict")).toHaveLength(5);
    }
    const contested = answers.map((answer) => answer.results?.at(-1)?.status);
    expect(contested.filter((s) => s === "applied")).toHaveLength(1);
    expect(contested.filter((s) => s === "conflict")).toHaveLength(5);
    for (const answer of answers) expect(answer.results?.at(-2)).toMatchObject({ status: "applied", version: 1 });
    const rows = await server.app.context.database.rows<{ version: number; n: number }>(
      sql`select version, count(*)::int as n from volunteers where org_id = ${a.orgId} and id like 'shared-%' group by version`,
    );
    expect(rows).toEqual([{ version: 2, n: 60 }]);
  });
});
