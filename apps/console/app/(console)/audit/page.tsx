"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { Pager } from "@/components/pager";
import { useSession } from "@/components/shell";
import { Empty, ErrorState, Loading } from "@/components/states";
import { formatInstant, humanize } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { EventDetails } from "@/components/details";
import { auditEvents } from "@repensar/contracts";

const PAGE = 50;
const EVENTS = auditEvents;

/** A `datetime-local` value (the reader's clock) as an instant. */
function toInstant(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export default function AuditPage() {
  const trpc = useTRPC();
  const session = useSession();
  const isAdmin = session.role === "admin";
  const [userId, setUserId] = useState("");
  const [deviceId, setDeviceId] = useState("");
  const [eventType, setEventType] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [offset, setOffset] = useState(0);
  const members = useQuery({ ...trpc.members.list.queryOptions(), enabled: isAdmin });
  const since = toInstant(from);
  const until = toInstant(to);
  const log = useQuery({
    ...trpc.audit.list.queryOptions({
      ...(userId ? { user_id: userId } : {}),
      ...(deviceId.trim() ? { device_id: deviceId.trim() } : {}),
      ...(eventType ? { event_type: eventType } : {}),
      ...(since ? { from: since } : {}),
      ...(until ? { to: until } : {}),
      limit: PAGE,
      offset,
    }),
    placeholderData: keepPreviousData,
  });
  const filter = (set: (value: string) => void) => (value: string) => {
    set(value);
    setOffset(0);
  };
  const nameOf = (id: string | null) => {
    if (!id) return "—";
    if (id === String(session.user.id)) return session.user.email;
    const member = members.data?.members.find((m) => m.id === id);
    return member ? member.email : id;
  };

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Audit log</h1>
          <p>
            {isAdmin
              ? "Sign-ins, devices, syncs and changes to members across your organization, newest first."
              : "Your own sign-ins, devices and syncs, newest first. Admins see the whole organization's."}
          </p>
        </div>
      </div>
      <form className="filters" role="search" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        {isAdmin ? (
        <div className="field">
          <label htmlFor="audit-user">User</label>
          <select id="audit-user" value={userId} onChange={(e) => filter(setUserId)(e.target.value)}>
            <option value="">Everyone</option>
            {members.data?.members.map((m) => (
              <option key={m.id} value={m.id}>
                {m.email}
              </option>
            ))}
          </select>
        </div>
        ) : null}
        <div className="field">
          <label htmlFor="audit-device">Device id</label>
          <input id="audit-device" value={deviceId} onChange={(e) => filter(setDeviceId)(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="audit-event">Event</label>
          <select id="audit-event" value={eventType} onChange={(e) => filter(setEventType)(e.target.value)}>
            <option value="">All events</option>
            {EVENTS.map((e) => (
              <option key={e} value={e}>
                {humanize(e.toLowerCase())}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="audit-from">From</label>
          <input id="audit-from" type="datetime-local" value={from} onChange={(e) => filter(setFrom)(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="audit-to">To</label>
          <input id="audit-to" type="datetime-local" value={to} onChange={(e) => filter(setTo)(e.target.value)} />
        </div>
      </form>
      {log.isPending ? (
        <Loading what="the audit log" />
      ) : log.isError ? (
        <ErrorState error={log.error} onRetry={() => void log.refetch()} />
      ) : log.data.entries.length === 0 ? (
        <Empty>No event matches these filters.</Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Audit events</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Event</th>
                  <th scope="col">User</th>
                  <th scope="col">Device</th>
                  <th scope="col">Address</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {log.data.entries.map((e) => (
                  <tr key={e.id}>
                    <td>{formatInstant(e.created_at)}</td>
                    <td>{humanize(e.event_type.toLowerCase())}</td>
                    <td>{nameOf(e.user_id)}</td>
                    <td className="mono">{e.device_id ? <Link href={`/devices/${encodeURIComponent(e.device_id)}`}>{e.device_id}</Link> : "—"}</td>
                    <td className="mono">{e.ip_address ?? "—"}</td>
                    <td>
                      <EventDetails details={e.details} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager label="Audit log" offset={offset} limit={PAGE} total={log.data.total} onChange={setOffset} />
        </>
      )}
    </>
  );
}
