/** The only place the server reads the process environment. */
export function readEnvironment(): Record<string, string | undefined> {
  return { ...process.env };
}
