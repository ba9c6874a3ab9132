/** The only place the CLI reads the environment. */
export interface CliEnvironment {
  /** `REPENSAR_SYNC_HOME`: where the local database and tokens live, unless `--home` says otherwise. */
  readonly home: string | undefined;
  /** The user's home directory, for the default `~/.repensar-sync`. */
  readonly userHome: string | undefined;
}

export function readEnvironment(): CliEnvironment {
  const home = process.env["REPENSAR_SYNC_HOME"];
  const userHome = process.env["HOME"] ?? process.env["USERPROFILE"];
  return { home: home === "" ? undefined : home, userHome };
}
