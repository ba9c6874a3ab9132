export { createApp, type App, type AppOptions } from "./app";
export { ConfigError, loadConfig, testConfig, type Config } from "./config";
export type { ServerContext } from "./context";
export { readEnvironment } from "./env";
export { serveFetch, type RunningServer } from "./http/node";
export { createLogger, type Logger } from "./log";
export { authenticateRequest, requireActiveDevice, type ActiveDevice } from "./auth/authenticate";
export type { Principal } from "./auth/principal";
export { SESSION_COOKIE, checkOrigin, readSessionToken, validateSessionToken, type ConsoleSession } from "./auth/sessions";
