import type { LogLevel } from "../config";
import { createLogger, type Logger } from "../log";

/** A logger whose lines are kept in memory, to read what the log would have said. */
export function capturedLogger(level: LogLevel = "info"): { log: Logger; text(): string; lines(): Record<string, unknown>[] } {
  const written: string[] = [];
  const log = createLogger(level, { write: (line: string) => void written.push(line) });
  return {
    log,
    text: () => written.join(""),
    lines: () => written.join("").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
