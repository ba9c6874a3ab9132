import type { Metadata } from "next";
import { Suspense } from "react";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

export default function SignInPage() {
  return (
    <main className="auth-page">
      <div className="auth-card">
        <p className="brand">Repensar Sync</p>
        <h1>Sign in</h1>
        <Suspense fallback={<p role="status">Loading the form…</p>}>
          <SignInForm />
        </Suspense>
        <p className="hint">
          First start? The first admin&apos;s email and password are printed in the server&apos;s output when it starts
          on an empty database.
        </p>
      </div>
    </main>
  );
}
