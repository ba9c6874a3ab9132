import { describe, expect, it } from "vitest";
import { checksAddedNotValid } from "./not-valid";

describe("checksAddedNotValid", () => {
  it("adds NOT VALID to each CHECK added to an existing table, and to nothing else", () => {
    // As drizzle-kit writes them: the breakpoint on the statement's own line.
    const generated = [
      `CREATE TABLE "donations" (\n\t"id" text NOT NULL,\n\tCONSTRAINT "donations_currency_max_length" CHECK (char_length("currency") <= 3)\n);\n--> statement-breakpoint`,
      `ALTER TABLE "projects" ADD COLUMN "budget" text;--> statement-breakpoint`,
      `ALTER TABLE "projects" ADD CONSTRAINT "projects_location_max_length" CHECK (char_length("location") <= 200);--> statement-breakpoint`,
      `ALTER TABLE "tasks" ADD CONSTRAINT "tasks_status_values" CHECK ("status" in ('todo', 'it''s done'));`,
    ].join("\n");
    const rewritten = checksAddedNotValid(generated);
    expect(rewritten).toContain(`CHECK (char_length("location") <= 200) NOT VALID;--> statement-breakpoint`);
    expect(rewritten).toContain(`CHECK ("status" in ('todo', 'it''s done')) NOT VALID;`);
    expect(rewritten).toContain(`CONSTRAINT "donations_currency_max_length" CHECK (char_length("currency") <= 3)\n);`);
    expect(rewritten).toContain(`ADD COLUMN "budget" text;`);
    expect(checksAddedNotValid(rewritten)).toBe(rewritten);
  });
});
