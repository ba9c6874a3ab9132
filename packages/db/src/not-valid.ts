/**
 * A CHECK constraint added to a table that already exists is written `NOT VALID`: PostgreSQL then
 * enforces it on every row written from now on without scanning the rows already there, so a rule
 * tightened in a definition never blocks the migration on old rows that break it (they stay
 * readable; a row written again must meet the rule). drizzle-kit does not say `NOT VALID`, so
 * `db:generate` rewrites what it wrote with this. The drizzle snapshot is left as it is: drizzle-kit
 * records no validity, so the drift check is not affected.
 *
 * Only `ALTER TABLE … ADD CONSTRAINT … CHECK (…)` statements change; a CHECK inside `CREATE TABLE`
 * has no old rows to spare.
 */
export function checksAddedNotValid(migrationSql: string): string {
  return migrationSql.replace(
    /^(ALTER TABLE "[^"]+" ADD CONSTRAINT "[^"]+" CHECK \(.*\));(?=\s*(?:--> statement-breakpoint)?\s*$)/gm,
    "$1 NOT VALID;",
  );
}
