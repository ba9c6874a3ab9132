import { formatValue, humanize } from "@/lib/format";

/** An audit event's details as "key: value" lines rather than raw JSON. */
export function EventDetails({ details }: { details: Readonly<Record<string, unknown>> }) {
  const entries = Object.entries(details);
  if (entries.length === 0) return <span className="hint">—</span>;
  return (
    <ul className="details">
      {entries.map(([key, value]) => (
        <li key={key}>
          <span className="details-key">{humanize(key)}:</span> {formatValue(value)}
        </li>
      ))}
    </ul>
  );
}
