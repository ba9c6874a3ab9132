"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { useSession } from "@/components/shell";
import { AdminOnly, Empty, ErrorState, Loading, StatusMessage } from "@/components/states";
import { errorMessage } from "@/lib/errors";
import { formatInstant } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";

type Role = "admin" | "member";

export default function MembersPage() {
  const session = useSession();
  if (session.role !== "admin") return <AdminOnly />;
  return <Members />;
}

function Members() {
  const trpc = useTRPC();
  const session = useSession();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [inviteLink, setInviteLink] = useState<{ email: string; url: string } | null>(null);
  const [status, setStatus] = useState<{ message: string; tone: "ok" | "error" } | null>(null);
  const [removing, setRemoving] = useState<{ id: string; email: string } | null>(null);
  const members = useQuery(trpc.members.list.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.members.pathKey() });
  const fail = (what: string) => (error: unknown) => setStatus({ message: `${what}: ${errorMessage(error)}`, tone: "error" });

  const invite = useMutation(
    trpc.members.invite.mutationOptions({
      onSuccess: async (result, input) => {
        setInviteLink({ email: input.email, url: `${window.location.origin}/invite/${encodeURIComponent(result.token)}` });
        setStatus({ message: `Invitation created for ${input.email}. Send them this link; it works once.`, tone: "ok" });
        setEmail("");
        await refresh();
      },
      onError: fail("The invitation was not created"),
    }),
  );
  const changeRole = useMutation(
    trpc.members.changeRole.mutationOptions({
      onSuccess: async (_r, input) => {
        setStatus({ message: `Role changed to ${input.role}.`, tone: "ok" });
        await refresh();
      },
      onError: fail("The role was not changed"),
    }),
  );
  const remove = useMutation(
    trpc.members.remove.mutationOptions({
      onSuccess: async () => {
        setStatus({ message: `${removing?.email ?? "The member"} was removed from the organization.`, tone: "ok" });
        setRemoving(null);
        await refresh();
      },
      onError: (error) => {
        setRemoving(null);
        fail("The member was not removed")(error);
      },
    }),
  );

  const onInvite = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setInviteLink(null);
    invite.mutate({ email: email.trim(), role });
  };

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Members</h1>
          <p>Who belongs to your organization, and what they may do.</p>
        </div>
      </div>

      <section className="panel section" aria-labelledby="invite-heading">
        <h2 id="invite-heading">Invite someone</h2>
        <form className="filters" onSubmit={onInvite}>
          <div className="field">
            <label htmlFor="invite-email">Email</label>
            <input id="invite-email" type="email" required autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="invite-role">Role</label>
            <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value === "admin" ? "admin" : "member")}>
              <option value="member">Member</option>
              <option value="admin">Admin</option>
            </select>
          </div>
          <button type="submit" className="button button-primary" disabled={invite.isPending}>
            {invite.isPending ? "Inviting…" : "Send invitation"}
          </button>
        </form>
        <StatusMessage message={status?.message ?? null} tone={status?.tone ?? "info"} />
        {inviteLink ? (
          <div className="field">
            <label htmlFor="invite-link">Invitation link for {inviteLink.email}</label>
            <input id="invite-link" readOnly value={inviteLink.url} onFocus={(e) => e.target.select()} />
          </div>
        ) : null}
      </section>

      <section className="section" aria-labelledby="members-heading">
        <h2 id="members-heading">Members</h2>
        {members.isPending ? (
          <Loading what="members" />
        ) : members.isError ? (
          <ErrorState error={members.error} onRetry={() => void members.refetch()} />
        ) : members.data.members.length === 0 ? (
          <Empty>No members yet.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Joined</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {members.data.members.map((m) => {
                  const self = m.id === session.user.id;
                  return (
                    <tr key={m.id}>
                      <td>
                        {m.name}
                        {self ? <span className="hint"> (you)</span> : null}
                      </td>
                      <td>{m.email}</td>
                      <td>
                        <label className="visually-hidden" htmlFor={`role-${m.id}`}>
                          Role of {m.email}
                        </label>
                        <select
                          id={`role-${m.id}`}
                          value={m.role}
                          disabled={self || changeRole.isPending}
                          onChange={(e) => changeRole.mutate({ userId: m.id, role: e.target.value === "admin" ? "admin" : "member" })}
                        >
                          <option value="member">Member</option>
                          <option value="admin">Admin</option>
                        </select>
                      </td>
                      <td>{formatInstant(m.joinedAt)}</td>
                      <td>
                        {self ? null : (
                          <button type="button" className="button button-small" onClick={() => setRemoving({ id: m.id, email: m.email })}>
                            Remove<span className="visually-hidden"> {m.email}</span>
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {members.data && members.data.invitations.length > 0 ? (
        <section className="section" aria-labelledby="pending-heading">
          <h2 id="pending-heading">Pending invitations</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Expires</th>
                </tr>
              </thead>
              <tbody>
                {members.data.invitations.map((i) => (
                  <tr key={i.id}>
                    <td>{i.email}</td>
                    <td>{i.role}</td>
                    <td>{formatInstant(i.expiresAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}

      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing?.email ?? ""}?`}
        confirmLabel="Remove member"
        danger
        busy={remove.isPending}
        onCancel={() => setRemoving(null)}
        onConfirm={() => {
          if (removing) remove.mutate({ userId: removing.id });
        }}
      >
        <p>They lose access to the organization at once: their devices are revoked and their sessions end.</p>
      </ConfirmDialog>
    </>
  );
}
