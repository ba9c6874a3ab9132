"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { createContext, use, useEffect, useState, type ReactNode } from "react";
import { entityTypes } from "@repensar/contracts";
import { errorCode } from "@/lib/errors";
import { humanize } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import type { Session } from "@/lib/types";
import { ErrorState, Loading } from "./states";

const SessionContext = createContext<Session | null>(null);

/** The signed-in user; only rendered inside the shell, which waits for it. */
export function useSession(): Session {
  const session = use(SessionContext);
  if (!session) throw new TypeError("useSession is used outside the console shell.");
  return session;
}

interface NavItem {
  href: string;
  label: string;
  adminOnly?: boolean;
}

const NAV: readonly NavItem[] = [
  { href: "/", label: "Dashboard" },
  { href: "/devices", label: "Devices" },
  { href: "/conflicts", label: "Conflicts" },
  { href: "/audit", label: "Audit log", adminOnly: true },
  { href: "/members", label: "Members", adminOnly: true },
];

function isCurrent(pathname: string, href: string): boolean {
  return href === "/" ? pathname === "/" : pathname === href || pathname.startsWith(`${href}/`);
}

export function Shell({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const queryClient = useQueryClient();
  const [menuOpen, setMenuOpen] = useState(false);
  const me = useQuery(trpc.auth.me.queryOptions());
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSuccess: () => {
        queryClient.clear();
        router.replace("/sign-in");
      },
    }),
  );
  const unauthorized = me.isError && errorCode(me.error) === "UNAUTHORIZED";

  useEffect(() => {
    if (unauthorized) router.replace(`/sign-in?next=${encodeURIComponent(pathname)}`);
  }, [unauthorized, pathname, router]);

  // Close the narrow-screen menu once a link has been followed.
  useEffect(() => setMenuOpen(false), [pathname]);

  if (me.isPending || unauthorized) {
    return (
      <main className="centered">
        <Loading what="your session" />
      </main>
    );
  }
  if (me.isError) {
    return (
      <main className="centered">
        <ErrorState error={me.error} onRetry={() => void me.refetch()} />
      </main>
    );
  }
  const session = me.data;
  const isAdmin = session.role === "admin";

  return (
    <SessionContext value={session}>
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <div className="shell">
        <header className="topbar">
          <Link href="/" className="brand">
            Repensar Sync
          </Link>
          <span className="org-name">{session.organization.name}</span>
          <button
            type="button"
            className="button menu-button"
            aria-expanded={menuOpen}
            aria-controls="main-nav"
            onClick={() => setMenuOpen((open) => !open)}
          >
            {menuOpen ? "Close menu" : "Menu"}
          </button>
        </header>
        <nav id="main-nav" className={menuOpen ? "sidebar open" : "sidebar"} aria-label="Main">
          <ul>
            {NAV.filter((item) => !item.adminOnly || isAdmin).map((item) => (
              <li key={item.href}>
                <Link href={item.href} aria-current={isCurrent(pathname, item.href) ? "page" : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
          <p className="nav-heading" id="nav-data">
            Data
          </p>
          <ul aria-labelledby="nav-data">
            {entityTypes.map((type) => (
              <li key={type}>
                <Link href={`/data/${type}`} aria-current={pathname === `/data/${type}` ? "page" : undefined}>
                  {humanize(type)}
                </Link>
              </li>
            ))}
          </ul>
          <div className="account">
            <p className="account-name">{session.user.name}</p>
            <p className="account-email">{session.user.email}</p>
            <p className="account-role">
              <span className={`badge badge-${session.role}`}>{session.role}</span>
            </p>
            <Link href="/account" aria-current={isCurrent(pathname, "/account") ? "page" : undefined}>
              Account
            </Link>
            <button type="button" className="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
              {signOut.isPending ? "Signing out…" : "Sign out"}
            </button>
            {signOut.isError ? <ErrorState error={signOut.error} /> : null}
          </div>
        </nav>
        <main id="content" className="content" tabIndex={-1}>
          {children}
        </main>
      </div>
    </SessionContext>
  );
}
