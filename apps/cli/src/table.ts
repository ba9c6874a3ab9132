const MAX_CELL = 40;

/** Rows as an aligned text table under a header; long cells are cut with an ellipsis. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const clip = (text: string) => {
    const line = text.replaceAll(/\s+/g, " ");
    return line.length > MAX_CELL ? `${line.slice(0, MAX_CELL - 1)}…` : line;
  };
  const all = [header, ...rows].map((row) => row.map(clip));
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? "").length)));
  return all.map((row) => row.map((text, column) => text.padEnd(widths[column] ?? 0)).join("  ").trimEnd()).join("\n") + "\n";
}
