"use client";
import type { ReactNode } from "react";
import { errorMessage } from "@/lib/errors";

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <p>{errorMessage(error)}</p>
      {onRetry ? (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

/** A region screen readers announce when its text changes. */
export function StatusMessage({ message, tone = "info" }: { message: string | null; tone?: "info" | "ok" | "error" }) {
  return (
    <p className={`status status-${tone}`} role={tone === "error" ? "alert" : "status"} aria-live={tone === "error" ? "assertive" : "polite"}>
      {message ?? ""}
    </p>
  );
}

export function AdminOnly() {
  return (
    <div className="state state-error" role="alert">
      <h1>Admins only</h1>
      <p>This page is for the admins of your organization. Ask an admin if you need something here.</p>
    </div>
  );
}
