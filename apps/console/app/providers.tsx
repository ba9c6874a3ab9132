"use client";
import { QueryCache, QueryClient, QueryClientProvider, type Query } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { useState, type ReactNode } from "react";
import type { AppRouter } from "@repensar/server/trpc";
import { TRPCProvider } from "@/lib/trpc";

/** Errors a retry cannot fix: the answer will be the same next time. */
const FINAL_CODES = new Set(["UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_REQUEST", "CONFLICT", "PRECONDITION_FAILED"]);

/** A session that ended while a page was open (expired, signed out elsewhere): back to sign-in. */
function onQueryError(error: Error, query: Query<unknown, unknown, unknown>): void {
  if (!(error instanceof TRPCClientError) || error.data?.code !== "UNAUTHORIZED") return;
  // The shell redirects itself when the session query fails.
  if (JSON.stringify(query.queryKey[0]) === JSON.stringify(["auth", "me"])) return;
  const { pathname, search } = window.location;
  if (pathname === "/sign-in" || pathname.startsWith("/invite/")) return;
  window.location.assign(`/sign-in?next=${encodeURIComponent(pathname + search)}`);
}

function makeQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError: onQueryError }),
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        retry: (failures, error) => {
          if (error instanceof TRPCClientError && FINAL_CODES.has(String(error.data?.code))) return false;
          return failures < 2;
        },
      },
    },
  });
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      // Same-origin requests carry the session cookie by default.
      links: [httpBatchLink({ url: "/api/trpc" })],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
