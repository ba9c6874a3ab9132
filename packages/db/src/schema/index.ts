export * from "./system";
export * from "./entities";
