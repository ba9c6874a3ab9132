import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { createDatabase } from "./client";
import { databaseSuite } from "./db-suite";
import { migrations } from "./migrations.gen";

const url = process.env.DATABASE_URL ?? "";

databaseSuite("PostgreSQL", () => createDatabase({ url }));

it("lets instances that start together apply each migration once", async () => {
  const handles = await Promise.all([1, 2, 3].map(() => createDatabase({ url, poolSize: 2 })));
  const [first] = handles;
  const applied = await first?.rows<{ n: number }>(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
  expect(applied?.[0]?.n).toBe(migrations.length);
  expect(new Set(handles.map((h) => h.epoch)).size).toBe(1);
  await Promise.all(handles.map((h) => h.close()));
});
