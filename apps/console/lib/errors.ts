import { TRPCClientError } from "@trpc/client";

/** The tRPC error code of a failed call, if it came from the server. */
export function errorCode(error: unknown): string | undefined {
  if (error instanceof TRPCClientError) {
    const code: unknown = error.data?.code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** A sentence for the person at the screen. */
export function errorMessage(error: unknown): string {
  const code = errorCode(error);
  if (code === "UNAUTHORIZED") return "Your session has ended. Sign in again.";
  if (code === "FORBIDDEN") return "You do not have access to this. Ask an admin of your organization.";
  if (error instanceof TRPCClientError && error.message.startsWith("Failed to fetch")) return "The server could not be reached. Check your connection and try again.";
  if (error instanceof Error && error.message) return error.message;
  return "Something failed without an explanation. Try again.";
}
