"use client";
import { useMutation } from "@tanstack/react-query";
import { TRPCClientError } from "@trpc/client";
import { useState, type FormEvent } from "react";
import { useSession } from "@/components/shell";
import { StatusMessage } from "@/components/states";
import { errorMessage } from "@/lib/errors";
import { useTRPC } from "@/lib/trpc";

/** As `ChangePasswordRequest` holds it on the server. */
const MIN_PASSWORD_LENGTH = 8;

/** The catalog code of a failed call (`INVALID_CREDENTIALS`, `RATE_LIMITED`, …), if the server sent one. */
function appCodeOf(error: unknown): string | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data: unknown = error.data;
  if (typeof data !== "object" || data === null || !("appCode" in data)) return undefined;
  return typeof data.appCode === "string" ? data.appCode : undefined;
}

function changeFailure(error: unknown): string {
  switch (appCodeOf(error)) {
    case "INVALID_CREDENTIALS":
      return "The current password is not correct. Your password was not changed.";
    case "RATE_LIMITED":
      return "Too many attempts with a wrong password. Wait a few minutes, then try again.";
    case "VALIDATION_ERROR":
      return `The new password must have at least ${MIN_PASSWORD_LENGTH} characters.`;
    default:
      return `Your password was not changed: ${errorMessage(error)}`;
  }
}

export default function AccountPage() {
  const session = useSession();
  return (
    <>
      <div className="page-header">
        <div>
          <h1>Account</h1>
          <p>Who you are signed in as, and your password.</p>
        </div>
      </div>

      <section className="panel section" aria-labelledby="details-heading">
        <h2 id="details-heading">Your details</h2>
        <dl className="facts">
          <dt>Name</dt>
          <dd>{session.user.name}</dd>
          <dt>Email</dt>
          <dd>{session.user.email}</dd>
          <dt>Organization</dt>
          <dd>{session.organization.name}</dd>
          <dt>Role</dt>
          <dd>
            <span className={`badge badge-${session.role}`}>{session.role}</span>
          </dd>
        </dl>
      </section>

      <ChangePassword />
    </>
  );
}

function ChangePassword() {
  const trpc = useTRPC();
  const [currentPassword, setCurrentPassword] = useState("");
  const [newPassword, setNewPassword] = useState("");
  const [repeated, setRepeated] = useState("");
  const [attempted, setAttempted] = useState(false);
  const [status, setStatus] = useState<{ message: string; tone: "ok" | "error" } | null>(null);
  const change = useMutation(
    trpc.auth.changePassword.mutationOptions({
      onSuccess: () => {
        setCurrentPassword("");
        setNewPassword("");
        setRepeated("");
        setAttempted(false);
        setStatus({ message: "Password changed. You stay signed in here; every other sign-in, on devices and in other browsers, has ended.", tone: "ok" });
      },
      onError: (error) => setStatus({ message: changeFailure(error), tone: "error" }),
    }),
  );

  const tooShort = newPassword.length < MIN_PASSWORD_LENGTH;
  const mismatch = repeated !== newPassword;

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setAttempted(true);
    if (tooShort) {
      setStatus({ message: `The new password must have at least ${MIN_PASSWORD_LENGTH} characters.`, tone: "error" });
      return;
    }
    if (mismatch) {
      setStatus({ message: "The two new passwords are not the same. Type it again in both fields.", tone: "error" });
      return;
    }
    setStatus(null);
    change.mutate({ currentPassword, newPassword });
  };

  return (
    <section className="panel section" aria-labelledby="password-heading">
      <h2 id="password-heading">Change password</h2>
      <p className="hint">Changing it signs you out everywhere else: your devices will ask for the new password.</p>
      <form className="form" onSubmit={onSubmit} noValidate aria-describedby="password-status">
        <label htmlFor="current-password">Current password</label>
        <input
          id="current-password"
          name="current-password"
          type="password"
          autoComplete="current-password"
          required
          value={currentPassword}
          onChange={(e) => setCurrentPassword(e.target.value)}
        />
        <label htmlFor="new-password">New password</label>
        <input
          id="new-password"
          name="new-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={MIN_PASSWORD_LENGTH}
          aria-describedby="new-password-hint"
          aria-invalid={attempted && tooShort}
          value={newPassword}
          onChange={(e) => setNewPassword(e.target.value)}
        />
        <p id="new-password-hint" className="hint">
          At least {MIN_PASSWORD_LENGTH} characters.
        </p>
        <label htmlFor="repeat-password">New password again</label>
        <input
          id="repeat-password"
          name="repeat-password"
          type="password"
          autoComplete="new-password"
          required
          aria-invalid={attempted && mismatch}
          value={repeated}
          onChange={(e) => setRepeated(e.target.value)}
        />
        <button type="submit" className="button button-primary" disabled={change.isPending || currentPassword === ""}>
          {change.isPending ? "Changing password…" : "Change password"}
        </button>
        <div id="password-status">
          <StatusMessage message={status?.message ?? null} tone={status?.tone ?? "info"} />
        </div>
      </form>
    </section>
  );
}
