import { z } from "zod";
import { DeviceId, ResponseId, RoleSchema, Text } from "./common";

const Email = z.email().max(320);

/** `POST /auth/register`: creates a user, and an organization of which they are the admin. */
export const RegisterRequest = z.object({
  email: Email,
  password: Text.min(8).max(256),
  name: Text.trim().min(1).max(200),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;

/** `POST /auth/login`. `device_id` (ours) binds the tokens to that device, so revoking it ends them. */
export const LoginRequest = z.object({
  email: Email,
  // No minimum here: the policy applies when a password is set, not when one is checked.
  password: Text.min(1).max(256),
  device_id: DeviceId.optional(),
  /**
   * Ours, for browsers: the refresh token is set as an HttpOnly cookie scoped to `/auth` instead of
   * being returned (`refresh_token` in the answer is then empty), so no page script can read it.
   * `POST /auth/refresh` and `/auth/logout` then take it from the cookie.
   */
  refresh_token_cookie: z.boolean().optional(),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const TokenUser = z.object({
  id: ResponseId,
  email: z.string(),
  name: z.string(),
  /** Ours: the organization the tokens are scoped to. */
  organization_id: ResponseId.optional(),
  /** Ours: the user's role in that organization. */
  role: RoleSchema.optional(),
});
export type TokenUser = z.infer<typeof TokenUser>;

/** The answer to login, register and refresh: the source's login response. */
export const TokenResponse = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal("bearer"),
  /** Seconds until the access token expires. */
  expires_in: z.number().int().positive(),
  user: TokenUser,
});
export type TokenResponse = z.infer<typeof TokenResponse>;

/** `POST /auth/refresh`: trades a refresh token for a new pair (the old one is rotated out). */
export const RefreshRequest = z.object({
  /** Left out by a browser that signed in with `refresh_token_cookie` (ours): the cookie carries it. */
  refresh_token: Text.min(1).max(512).optional(),
});
export type RefreshRequest = z.infer<typeof RefreshRequest>;

/** `POST /auth/logout`: revokes the access token, and the refresh token's family when given. */
export const LogoutRequest = z.object({
  refresh_token: Text.min(1).max(512).optional(),
});
export type LogoutRequest = z.infer<typeof LogoutRequest>;

export const LogoutResponse = z.object({ message: z.string() });
export type LogoutResponse = z.infer<typeof LogoutResponse>;

/** `GET /auth/me`: who the access token speaks for. */
export const MeResponse = z.object({
  user: z.object({ id: ResponseId, email: z.string(), name: z.string() }),
  organization: z.object({ id: ResponseId, name: z.string() }),
  role: RoleSchema,
  /** The device the tokens are bound to, if any. */
  device_id: z.string().nullable(),
});
export type MeResponse = z.infer<typeof MeResponse>;

/** One public key of `GET /.well-known/jwks.json` (RFC 7517); unknown members are kept. */
export const JsonWebKey = z.looseObject({
  kty: z.string(),
  kid: z.string(),
  alg: z.string().optional(),
  use: z.string().optional(),
  crv: z.string().optional(),
  x: z.string().optional(),
  y: z.string().optional(),
});
export type JsonWebKey = z.infer<typeof JsonWebKey>;

export const JwksResponse = z.object({ keys: z.array(JsonWebKey) });
export type JwksResponse = z.infer<typeof JwksResponse>;
