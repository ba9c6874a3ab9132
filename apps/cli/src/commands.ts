import { PROTOCOL_VERSION } from "@repensar/contracts";
import { UsageError, type ParsedArgs } from "./args";

export const VERSION = "0.1.0";

export const USAGE = `Usage: repensar-sync <command> [options]

Commands:
  --version            print the client and protocol versions
  help                 show this help
`;

export async function run(args: ParsedArgs): Promise<number> {
  if (args.flags["version"] === true) {
    process.stdout.write(`repensar-sync ${VERSION} (protocol ${PROTOCOL_VERSION})\n`);
    return 0;
  }
  if (args.command === undefined || args.command === "help" || args.flags["help"] === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  throw new UsageError(`Unknown command '${args.command}'. Run 'repensar-sync help' for the list.`);
}
