import type { NextConfig } from "next";

const config: NextConfig = {
  // PGlite ships its own WebAssembly and data files, and the API docs serve swagger-ui-dist's files
  // from its directory: both must be loaded from node_modules, not bundled.
  serverExternalPackages: ["@electric-sql/pglite", "@node-rs/argon2", "ioredis", "postgres", "swagger-ui-dist"],
  transpilePackages: ["@repensar/contracts", "@repensar/conflict-engine", "@repensar/db", "@repensar/server", "@repensar/sync-client"],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
