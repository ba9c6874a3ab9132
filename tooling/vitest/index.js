import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Two projects per package: `unit` runs everywhere (PGlite, in-process stores);
// `pg` runs the *.pg.test.ts suites, only when a real PostgreSQL/Redis is configured,
// each test file in a database of its own (see pg-setup.ts).
const realServices = Boolean(process.env.DATABASE_URL || process.env.REDIS_URL);
const pgSetup = fileURLToPath(new URL("./pg-setup.ts", import.meta.url));

/**
 * @param {{ unitSetupFiles?: string[]; fileParallelism?: boolean; include?: string[] }} [overrides]
 * @returns {import("vitest/config").ViteUserConfig}
 */
export function repensarVitest(overrides = {}) {
  const shared = {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: keep the worker count low so PGlite instances do not starve each other.
    maxWorkers: 2,
    fileParallelism: overrides.fileParallelism ?? true,
  };
  const roots = overrides.include ?? ["src", "test"];
  return defineConfig({
    test: {
      projects: [
        {
          test: {
            ...shared,
            name: "unit",
            include: roots.map((r) => `${r}/**/*.test.{ts,tsx}`),
            exclude: ["**/*.pg.test.ts", "**/node_modules/**"],
            setupFiles: overrides.unitSetupFiles ?? [],
            // The unit project never touches a real server, whatever the shell has set.
            env: { DATABASE_URL: "", REDIS_URL: "" },
          },
        },
        ...(realServices
          ? [
              {
                test: {
                  ...shared,
                  name: "pg",
                  // One file at a time: PostgreSQL's snapshot xmin is cluster-wide, so a file whose
                  // writers hold transactions open would delay what another file's pulls can see.
                  fileParallelism: false,
                  include: roots.map((r) => `${r}/**/*.pg.test.ts`),
                  setupFiles: [pgSetup],
                },
              },
            ]
          : []),
      ],
    },
  });
}
