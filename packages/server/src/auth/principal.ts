import type { Role } from "@repensar/contracts";

/** Who is calling, as proven by a verified access token (REST) or console session (tRPC). */
export interface Principal {
  userId: string;
  orgId: string;
  role: Role;
  /** The device the token is bound to, when it is. */
  deviceId: string | null;
  /** The access token's `jti` (REST) or the session id (console). */
  tokenId: string;
  expiresAt: Date;
}
