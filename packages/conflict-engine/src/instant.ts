// ISO-8601 date-time with a time zone: `2024-05-01T10:00:00Z`, `2024-05-01T12:00:00.123456+02:00`.
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/** An instant as whole seconds since the epoch plus a fraction kept as digits, so microseconds still order. */
interface Instant {
  seconds: number;
  fraction: string;
}

/** Reads an ISO-8601 date-time that carries a zone (`Z` or an offset); anything else is not an instant. */
export function parseInstant(text: string): Instant | undefined {
  const m = ISO_INSTANT.exec(text.trim());
  if (!m) return undefined;
  const [, year, month, day, hour, minute, second = "0", fraction = "", zulu, sign, offH = "0", offM = "0"] = m;
  const local = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  if (Number.isNaN(local)) return undefined;
  const offsetMinutes = zulu ? 0 : (sign === "-" ? -1 : 1) * (Number(offH) * 60 + Number(offM));
  return { seconds: local / 1000 - offsetMinutes * 60, fraction: fraction.replace(/0+$/, "") };
}

/**
 * Orders two ISO-8601 instants by the moment they name, not by their text (`+02:00` and `Z`
 * compare correctly). Negative when `a` is earlier, positive when later, 0 when the same instant;
 * undefined when either is not an instant.
 */
export function compareInstants(a: string, b: string): number | undefined {
  const left = parseInstant(a);
  const right = parseInstant(b);
  if (!left || !right) return undefined;
  if (left.seconds !== right.seconds) return left.seconds < right.seconds ? -1 : 1;
  const width = Math.max(left.fraction.length, right.fraction.length);
  const l = left.fraction.padEnd(width, "0");
  const r = right.fraction.padEnd(width, "0");
  return l === r ? 0 : l < r ? -1 : 1;
}
