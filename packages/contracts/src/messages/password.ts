import { z } from "zod";
import { Text } from "./common";

/**
 * `POST /auth/password`: the signed-in user sets a new password. The current one is asked for
 * again, so a token or session left open on a shared screen cannot take the account over.
 */
export const ChangePasswordRequest = z.object({
  // No minimum here: the policy applies when a password is set, not when one is checked.
  current_password: Text.min(1).max(256),
  /** The same policy as `RegisterRequest.password`. */
  new_password: Text.min(8).max(256),
});
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequest>;

/** Every sign-in of the user has ended, the caller's too: sign in again with the new password. */
export const ChangePasswordResponse = z.object({
  message: z.string(),
  /** How many sign-ins (refresh-token families) were ended. */
  sign_ins_ended: z.number().int().nonnegative(),
});
export type ChangePasswordResponse = z.infer<typeof ChangePasswordResponse>;
