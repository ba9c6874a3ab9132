import type { Metadata } from "next";
import { AcceptInvitationForm } from "./accept-form";

export const metadata: Metadata = { title: "Accept invitation" };

export default async function InvitePage({ params }: PageProps<"/invite/[token]">) {
  const { token } = await params;
  return (
    <main className="auth-page">
      <div className="auth-card">
        <p className="brand">Repensar Sync</p>
        <h1>Join your organization</h1>
        <p>Choose the name others will see and a password for your account.</p>
        <AcceptInvitationForm token={token} />
      </div>
    </main>
  );
}
