import { fileURLToPath } from "node:url";
import { defineConfig, type ViteUserConfig } from "vitest/config";

// Two projects per package: `unit` runs everywhere (PGlite, in-process stores);
// `pg` runs the *.pg.test.ts suites, only when a real PostgreSQL/Redis is configured,
// each test file in a database of its own (see pg-setup.ts).
const realServices = Boolean(process.env.DATABASE_URL || process.env.REDIS_URL);
const pgSetup = fileURLToPath(new URL("./pg-setup.ts", import.meta.url));

export function repensarVitest(overrides: { unitSetupFiles?: string[]; fileParallelism?: boolean } = {}): ViteUserConfig {
  const shared = {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: keep worker count low so PGlite instances do not starve each other.
    maxWorkers: 2,
    fileParallelism: overrides.fileParallelism ?? true,
  };
  return defineConfig({
    test: {
      passWithNoTests: false,
      projects: [
        {
          test: {
            ...shared,
            name: "unit",
            include: ["src/**/*.test.ts", "test/**/*.test.ts"],
            exclude: ["**/*.pg.test.ts", "**/node_modules/**"],
            setupFiles: overrides.unitSetupFiles ?? [],
            env: { DATABASE_URL: "", REDIS_URL: "" },
          },
        },
        ...(realServices
          ? [
              {
                test: {
                  ...shared,
                  name: "pg",
                  include: ["src/**/*.pg.test.ts", "test/**/*.pg.test.ts"],
                  setupFiles: [pgSetup],
                },
              },
            ]
          : []),
      ],
    },
  });
}
