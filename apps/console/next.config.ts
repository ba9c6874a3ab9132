import type { NextConfig } from "next";

const config: NextConfig = {
  // PGlite ships its own WebAssembly and data files; it must be loaded from node_modules, not bundled.
  serverExternalPackages: ["@electric-sql/pglite", "@node-rs/argon2", "ioredis", "postgres"],
  transpilePackages: ["@repensar/contracts", "@repensar/conflict-engine", "@repensar/db", "@repensar/server"],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
