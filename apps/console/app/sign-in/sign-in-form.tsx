"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter, useSearchParams } from "next/navigation";
import { useState, type FormEvent } from "react";
import { StatusMessage } from "@/components/states";
import { errorCode, errorMessage } from "@/lib/errors";
import { useTRPC } from "@/lib/trpc";

/** Only paths inside the console: `?next=https://elsewhere` must not become an open redirect. */
function safeNext(value: string | null): string {
  return value?.startsWith("/") && !value.startsWith("//") ? value : "/";
}

export function SignInForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const params = useSearchParams();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const signIn = useMutation(
    trpc.auth.signIn.mutationOptions({
      onSuccess: () => {
        queryClient.clear();
        router.replace(safeNext(params.get("next")));
      },
    }),
  );
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    signIn.mutate({ email, password });
  };
  const failure = signIn.isError
    ? errorCode(signIn.error) === "UNAUTHORIZED"
      ? "That email and password do not match an account."
      : errorMessage(signIn.error)
    : null;
  return (
    <form className="form" onSubmit={onSubmit} aria-describedby="sign-in-status">
      <label htmlFor="email">Email</label>
      <input id="email" name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
      <label htmlFor="password">Password</label>
      <input
        id="password"
        name="password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <button type="submit" className="button button-primary" disabled={signIn.isPending}>
        {signIn.isPending ? "Signing in…" : "Sign in"}
      </button>
      <div id="sign-in-status">
        <StatusMessage message={failure ?? (signIn.isSuccess ? "Signed in. Opening the console…" : null)} tone={failure ? "error" : "ok"} />
      </div>
    </form>
  );
}
