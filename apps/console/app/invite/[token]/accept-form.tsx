"use client";
import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { StatusMessage } from "@/components/states";
import { errorCode, errorMessage } from "@/lib/errors";
import { useTRPC } from "@/lib/trpc";

const MIN_PASSWORD = 8;

export function AcceptInvitationForm({ token }: { token: string }) {
  const trpc = useTRPC();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const accept = useMutation(trpc.members.acceptInvitation.mutationOptions());

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (password.length < MIN_PASSWORD) {
      setProblem(`The password needs at least ${MIN_PASSWORD} characters.`);
      return;
    }
    setProblem(null);
    accept.mutate({ token, name, password });
  };

  if (accept.isSuccess) {
    return (
      <div>
        <StatusMessage message={`Your account is ready, ${accept.data.user.name}. You are signed in.`} tone="ok" />
        <Link className="button button-primary" href="/">
          Open the console
        </Link>
      </div>
    );
  }
  const failure =
    problem ??
    (accept.isError
      ? errorCode(accept.error) === "NOT_FOUND"
        ? "This invitation is not valid any more: it was used, withdrawn or has expired. Ask an admin for a new one."
        : errorMessage(accept.error)
      : null);
  return (
    <form className="form" onSubmit={onSubmit}>
      <label htmlFor="name">Your name</label>
      <input id="name" name="name" autoComplete="name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor="new-password">Password</label>
      <input
        id="new-password"
        name="password"
        type="password"
        autoComplete="new-password"
        required
        minLength={MIN_PASSWORD}
        aria-describedby="password-hint"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <p id="password-hint" className="hint">
        At least {MIN_PASSWORD} characters.
      </p>
      <button type="submit" className="button button-primary" disabled={accept.isPending}>
        {accept.isPending ? "Creating your account…" : "Create account"}
      </button>
      <StatusMessage message={failure} tone="error" />
    </form>
  );
}
