/** What a device keeps to stay signed in. Field names are the wire's (`POST /auth/login`). */
export interface Tokens {
  readonly access_token: string;
  readonly refresh_token: string;
  /** When the access token expires, ISO-8601; offline, the token is accepted until then. */
  readonly expires_at: string | null;
}

/**
 * Where tokens live between runs. Platforms bring their own secure storage (Keychain, Keystore,
 * the OS credential manager); Node gets a file readable only by its owner.
 */
export interface TokenStore {
  load(): Promise<Tokens | null>;
  save(tokens: Tokens): Promise<void>;
  clear(): Promise<void>;
}

export function createMemoryTokenStore(initial: Tokens | null = null): TokenStore {
  let tokens = initial;
  return {
    load: async () => tokens,
    save: async (next) => {
      tokens = { ...next };
    },
    clear: async () => {
      tokens = null;
    },
  };
}
