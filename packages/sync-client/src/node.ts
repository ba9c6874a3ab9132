// What needs Node (better-sqlite3, the file system); kept out of the main entry so React Native
// and browser bundles never see it.
export { createSqliteStore } from "./stores/sqlite";
export { createFileTokenStore } from "./tokens/file-token-store";
