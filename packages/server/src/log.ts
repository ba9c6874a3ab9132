import { pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from "pino";
import type { LogLevel } from "./config";

/** Structured, one JSON line per event (pino), secrets redacted before anything is written. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line also carries `bindings` (a request's id, say). */
  child(bindings: Record<string, unknown>): Logger;
}

const REDACTED = "[redacted]";

/** Fields whose values are secrets wherever they appear: tokens, passwords, keys, cookies. */
const SECRET_FIELD = /pass(word)?|secret|token|authorization|cookie|api[_-]?key|private[_-]?key/i;

/**
 * A value the log writes as it is, although its field is named like a secret: the first admin's
 * generated password, which is shown once on purpose.
 */
export class Disclosed {
  constructor(readonly value: string) {}
}

/**
 * Secrets inside free text. Drizzle's message for a failed query ends with its parameters
 * ("params: …"): whatever a client sent, push tokens and password hashes included. URLs and
 * form-like text may carry `token=…` or `password=…`.
 */
export function redactText(text: string): string {
  return text
    .replace(/(\bparams: ).*$/gm, `$1${REDACTED}`)
    .replace(/((?:^|[?&;,\s"'{])[\w-]*(?:pass(?:word)?|secret|token|api[_-]?key)[\w-]*=)[^&\s"';,}]*/gi, `$1${REDACTED}`)
    .replace(/\b(Bearer\s+)[\w.~+/=-]+/g, `$1${REDACTED}`);
}

function serialiseError(error: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: redactText(error.message) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out["code"] = code;
  if (error.stack) out["stack"] = redactText(error.stack);
  if (error.cause !== undefined && depth < 5) out["cause"] = serialiseValue(error.cause, depth + 1);
  return out;
}

function serialiseValue(value: unknown, depth: number): unknown {
  if (value instanceof Disclosed) return value.value;
  if (value instanceof Error) return serialiseError(value, depth);
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return depth < 5 ? value.map((v) => serialiseValue(v, depth + 1)) : "[…]";
  if (value !== null && typeof value === "object") return depth < 5 ? serialiseFields(value as Record<string, unknown>, depth + 1) : "[…]";
  return value;
}

function serialiseFields(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_FIELD.test(key) && !(value instanceof Disclosed) && value !== null && value !== undefined ? REDACTED : serialiseValue(value, depth);
  }
  return out;
}

/**
 * A pino logger at `level` writing to `destination` (standard output when omitted). Lines read
 * `{"level":"info","time":"…","message":"…",…fields}`. Redaction happens before pino sees a value:
 * fields named like secrets are replaced wherever they nest, and secrets inside text (a failed
 * query's parameters, `token=…`, `Bearer …`) are cut out of messages, strings and errors.
 */
export function createLogger(level: LogLevel = "info", destination?: DestinationStream): Logger {
  const options = {
    level,
    base: null,
    messageKey: "message",
    timestamp: stdTimeFunctions.isoTime,
    formatters: {
      level: (label: string) => ({ level: label }),
    },
  };
  return wrap(destination ? pino(options, destination) : pino(options));
}

function wrap(logger: PinoLogger): Logger {
  const write = (severity: "debug" | "info" | "warn" | "error") => (message: string, fields?: Record<string, unknown>) => {
    if (!logger.isLevelEnabled(severity)) return;
    logger[severity](fields ? serialiseFields(fields) : {}, redactText(message));
  };
  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    // pino writes a child's bindings as they are: redacted here, like every field.
    child: (bindings) => wrap(logger.child(serialiseFields(bindings))),
  };
}
