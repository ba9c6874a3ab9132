/** Structured, one JSON line per event. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function serialise(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
  }
  return out;
}

export function createLogger(level: "silent" | "info" = "info"): Logger {
  const write = (severity: string, message: string, fields: Record<string, unknown> = {}) => {
    if (level === "silent") return;
    const line = JSON.stringify({ time: new Date().toISOString(), level: severity, message, ...serialise(fields) });
    if (severity === "error") console.error(line);
    else console.log(line);
  };
  return {
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}
