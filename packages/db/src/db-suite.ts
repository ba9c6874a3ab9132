import { entityDefinitions, FieldKind } from "@repensar/contracts/entities";
import { getTableName, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, type DatabaseHandle } from "./client";
import { entityTables, organizations } from "./schema";

/** One suite, run against each driver (db.test.ts: PGlite; db.pg.test.ts: PostgreSQL). */
export function databaseSuite(name: string, open: () => Promise<DatabaseHandle>): void {
  describe(`database on ${name}`, () => {
    let handle: DatabaseHandle;
    beforeAll(async () => {
      handle = await open();
    });
    afterAll(async () => {
      await handle.close();
    });

    it("applies every migration and creates the system and entity tables", async () => {
      const tables = await handle.rows<{ table_name: string }>(
        sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
      );
      const names = tables.map((t) => t.table_name);
      for (const expected of [
        "audit_log",
        "console_sessions",
        "device_sync_state",
        "devices",
        "memberships",
        "organizations",
        "processed_changes",
        "projects",
        "refresh_token_families",
        "refresh_tokens",
        "revoked_access_tokens",
        "sync_conflicts",
        "users",
        ...Object.values(entityTables).map((table) => getTableName(table)),
      ]) {
        expect(names).toContain(expected);
      }
    });

    it("mirrors each text limit and value list of the definitions in a CHECK added NOT VALID, refusing new rows that break it", async () => {
      const expected: string[] = [];
      for (const def of Object.values(entityDefinitions)) {
        const fields: Readonly<Record<string, { kind: string; maxLength?: number; values?: readonly string[] }>> = def.fields;
        for (const [name, field] of Object.entries(fields)) {
          if (field.kind !== FieldKind.Text) continue;
          if (field.values) expected.push(`${def.table}_${name}_values`);
          else if (field.maxLength !== undefined) expected.push(`${def.table}_${name}_max_length`);
        }
      }
      const found = await handle.rows<{ conname: string; convalidated: boolean }>(
        sql`select conname, convalidated from pg_constraint where contype = 'c' and conname in (select jsonb_array_elements_text(${JSON.stringify(expected)}::jsonb))`,
      );
      expect(found.map((c) => c.conname).sort()).toEqual([...expected].sort());
      // Added to tables that may hold rows written under looser rules: old rows are not scanned.
      expect(found.filter((c) => c.convalidated).map((c) => c.conname)).toEqual([]);

      const [org] = await handle.db.insert(organizations).values({ name: "Checks" }).returning();
      if (!org) throw new Error("no organization");
      const refused = handle.db.execute(sql`insert into projects (org_id, id, name, version, status) values (${org.id}, 'p-bad', 'P', 1, 'someday')`);
      await expect(refused).rejects.toMatchObject({ cause: expect.objectContaining({ code: "23514" }) });
    });

    it("is idempotent: migrating again changes nothing and keeps the epoch", async () => {
      await migrate(handle.db);
      const applied = await handle.rows<{ n: number }>(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
      expect(applied[0]?.n).toBeGreaterThan(0);
      const [meta] = await handle.rows<{ epoch: string }>(sql`select epoch::text as epoch from server_meta`);
      expect(meta?.epoch).toBe(handle.epoch);
    });

    it("stamps every write with the writer's transaction id and a fresh sequence number", async () => {
      const [org] = await handle.db.insert(organizations).values({ name: "Stamps" }).returning();
      if (!org) throw new Error("no organization returned");
      await handle.db.execute(sql`insert into volunteers (org_id, id, name, version) values (${org.id}, 'v1', 'Ana', 1)`);
      const first = await handle.rows<{ txid: string; seq: string }>(
        sql`select txid::text as txid, seq::text as seq from volunteers where id = 'v1'`,
      );
      await handle.db.transaction(async (tx) => {
        await tx.execute(
          sql`update volunteers set name = 'Ana B', version = 2, txid = pg_current_xact_id(), seq = nextval('change_seq') where id = 'v1'`,
        );
      });
      const second = await handle.rows<{ txid: string; seq: string }>(
        sql`select txid::text as txid, seq::text as seq from volunteers where id = 'v1'`,
      );
      expect(BigInt(second[0]?.txid ?? 0)).toBeGreaterThan(BigInt(first[0]?.txid ?? 0));
      expect(BigInt(second[0]?.seq ?? 0)).toBeGreaterThan(BigInt(first[0]?.seq ?? 0));
    });

    it("round-trips every field kind of an entity row", async () => {
      const [org] = await handle.db.insert(organizations).values({ name: "Kinds" }).returning();
      if (!org) throw new Error("no organization returned");
      await handle.db.execute(sql`insert into time_entries (org_id, id, volunteer_id, date, hours, notes, version)
        values (${org.id}, 't1', 'v1', '2025-10-27', 1.5, 'n', 1)`);
      await handle.db.execute(sql`insert into volunteers (org_id, id, name, skills, version)
        values (${org.id}, 'v9', 'Rui',
          (select array_agg(s) from jsonb_array_elements_text(${JSON.stringify(["first aid", "driving"])}::jsonb) s), 1)`);
      const [row] = await handle.rows<{ doc: { date: string; hours: number } }>(
        sql`select jsonb_build_object('date', date, 'hours', hours) as doc from time_entries where id = 't1'`,
      );
      expect(row?.doc).toEqual({ date: "2025-10-27", hours: 1.5 });
      const [v] = await handle.rows<{ skills: string[] }>(sql`select to_jsonb(skills) as skills from volunteers where id = 'v9'`);
      expect(v?.skills).toEqual(["first aid", "driving"]);
    });

    it("scopes entity rows by organization: the same id in two organizations is two rows", async () => {
      const orgs = await handle.db.insert(organizations).values([{ name: "A" }, { name: "B" }]).returning();
      for (const org of orgs) {
        await handle.db.execute(
          sql`insert into volunteers (org_id, id, name, version) values (${org.id}, 'same', ${org.name}, 1)`,
        );
      }
      const rows = await handle.rows<{ n: number }>(sql`select count(*)::int as n from volunteers where id = 'same'`);
      expect(rows[0]?.n).toBe(2);
    });
  });
}
