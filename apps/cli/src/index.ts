export { main } from "./main";
export { parseArgs, UsageError, type ParsedArgs } from "./args";
