"use client";
import { useQueries, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { LineChart } from "@/components/line-chart";
import { useSession } from "@/components/shell";
import { Empty, ErrorState, Loading } from "@/components/states";
import { formatAgo, formatInstant, humanize } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { EventDetails } from "@/components/details";
import { MergeStat } from "@/components/merge-stat";
import { SyncLatency } from "@/components/sync-latency";

const RANGES = {
  day: { label: "Last 24 hours", bucket: "hour", count: 24, step: 3_600_000 },
  week: { label: "Last 7 days", bucket: "day", count: 7, step: 86_400_000 },
  month: { label: "Last 30 days", bucket: "day", count: 30, step: 86_400_000 },
} as const;
type Range = keyof typeof RANGES;

/** Audit events that mean something went wrong. */
const ERROR_EVENTS = ["LOGIN_FAILED", "REFRESH_REUSE_DETECTED"] as const;

/** The buckets of the range, oldest first, starting on whole hours or days (UTC). */
function bucketsOf(range: Range, now: number): number[] {
  const { count, step } = RANGES[range];
  const last = Math.floor(now / step) * step;
  return Array.from({ length: count }, (_, i) => last - (count - 1 - i) * step);
}

function bucketLabel(at: number, range: Range): string {
  const date = new Date(at);
  return range === "day" ? `${String(date.getUTCHours()).padStart(2, "0")}:00` : `${date.getUTCDate()}/${date.getUTCMonth() + 1}`;
}

export default function DashboardPage() {
  const trpc = useTRPC();
  const session = useSession();
  const [range, setRange] = useState<Range>("week");
  // Fixed while the range stays, so the query key does not change on every render.
  const [now, setNow] = useState(() => Date.now());
  const buckets = bucketsOf(range, now);
  const from = new Date(buckets[0] ?? now).toISOString();
  const to = new Date((buckets.at(-1) ?? now) + RANGES[range].step).toISOString();

  const activity = useQuery(trpc.sync.activity.queryOptions({ bucket: RANGES[range].bucket, from, to }));
  const devices = useQuery(trpc.devices.list.queryOptions({ active: true }));
  const conflicts = useQuery(trpc.conflicts.list.queryOptions({ unresolvedOnly: true, limit: 1, offset: 0 }));
  const statuses = useQuery(trpc.sync.statuses.queryOptions());
  const errors = useQueries({
    queries: ERROR_EVENTS.map((event) => trpc.audit.list.queryOptions({ event_type: event, limit: 8, offset: 0 })),
  });
  const lastErrors = errors
    .flatMap((q) => q.data?.entries ?? [])
    .sort((a, b) => b.created_at.localeCompare(a.created_at))
    .slice(0, 8);
  const errorsFailed = errors.find((q) => q.isError);

  const points = new Map((activity.data ?? []).map((p) => [new Date(p.bucket).getTime(), p]));
  const series = buckets.map((at) => points.get(at));
  const sum = (pick: (p: NonNullable<(typeof series)[number]>) => number) => series.reduce((n, p) => n + (p ? pick(p) : 0), 0);

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Dashboard</h1>
          <p>{session.role === "admin" ? `${session.organization.name} at a glance.` : "Your devices at a glance."}</p>
        </div>
        <div className="field">
          <label htmlFor="range">Period</label>
          <select
            id="range"
            value={range}
            onChange={(e) => {
              setRange(e.target.value === "day" ? "day" : e.target.value === "month" ? "month" : "week");
              setNow(Date.now());
            }}
          >
            {Object.entries(RANGES).map(([value, { label }]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </div>

      <ul className="stats" aria-label="Summary">
        <li className="stat">
          <p className="stat-label">Active devices</p>
          <p className="stat-value">{devices.data ? <Link href="/devices">{devices.data.total}</Link> : devices.isError ? "?" : "…"}</p>
        </li>
        <li className="stat">
          <p className="stat-label">Syncs ({RANGES[range].label.toLowerCase()})</p>
          <p className="stat-value">{activity.data ? sum((p) => p.pulls + p.pushes) : activity.isError ? "?" : "…"}</p>
        </li>
        <li className="stat">
          <p className="stat-label">Changes ({RANGES[range].label.toLowerCase()})</p>
          <p className="stat-value">{activity.data ? sum((p) => p.changes_pulled + p.changes_pushed) : activity.isError ? "?" : "…"}</p>
        </li>
        <li className="stat">
          <p className="stat-label">Open conflicts</p>
          <p className="stat-value">{conflicts.data ? <Link href="/conflicts">{conflicts.data.unresolved}</Link> : conflicts.isError ? "?" : "…"}</p>
        </li>
        <MergeStat from={from} to={to} period={RANGES[range].label.toLowerCase()} />
      </ul>
      {devices.isError ? <ErrorState error={devices.error} /> : null}
      {conflicts.isError ? <ErrorState error={conflicts.error} /> : null}

      <div className="grid-2">
        <section className="panel" aria-labelledby="activity-heading">
          <h2 id="activity-heading">Syncs and changes over time</h2>
          {activity.isPending ? (
            <Loading what="sync activity" />
          ) : activity.isError ? (
            <ErrorState error={activity.error} onRetry={() => void activity.refetch()} />
          ) : (
            <>
              <LineChart
                title={`${RANGES[range].label}, per ${RANGES[range].bucket} (UTC)`}
                labels={buckets.map((at) => bucketLabel(at, range))}
                series={[
                  { name: "Syncs", values: series.map((p) => (p ? p.pulls + p.pushes : 0)), color: "#0969da" },
                  { name: "Changes", values: series.map((p) => (p ? p.changes_pulled + p.changes_pushed : 0)), color: "#bf3989" },
                  { name: "Conflicts", values: series.map((p) => p?.conflicts ?? 0), color: "#9a6700" },
                ]}
              />
              {activity.data.length === 0 ? <p className="hint">No device synced in this period.</p> : null}
            </>
          )}
        </section>
        <section className="panel" aria-labelledby="errors-heading">
          <h2 id="errors-heading">Last errors</h2>
          {errors.some((q) => q.isPending) ? (
            <Loading what="recent errors" />
          ) : errorsFailed ? (
            <ErrorState error={errorsFailed.error} />
          ) : lastErrors.length === 0 ? (
            <Empty>No errors recorded: no failed sign-ins and no reused refresh tokens.</Empty>
          ) : (
            <ul className="error-list">
              {lastErrors.map((e) => (
                <li key={e.id}>
                  <strong>{humanize(e.event_type.toLowerCase())}</strong> <span className="hint">{formatInstant(e.created_at)}</span>
                  <div className="hint">
                    {e.device_id ? (
                      <Link className="mono" href={`/devices/${encodeURIComponent(e.device_id)}`}>
                        {e.device_id}
                      </Link>
                    ) : null}{" "}
                    {e.ip_address && e.ip_address !== "unknown" ? `from ${e.ip_address}` : ""}
                    <EventDetails details={e.details} />
                  </div>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      {session.role === "admin" ? <SyncLatency /> : null}

      <section className="section" aria-labelledby="status-heading">
        <h2 id="status-heading">Devices and their sync</h2>
        {statuses.isPending ? (
          <Loading what="device sync status" />
        ) : statuses.isError ? (
          <ErrorState error={statuses.error} onRetry={() => void statuses.refetch()} />
        ) : statuses.data.length === 0 ? (
          <Empty>No devices yet. A device appears once an app signs in and registers it.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Last successful sync</th>
                  <th scope="col">Needs sync</th>
                  <th scope="col" className="num">
                    Open conflicts
                  </th>
                </tr>
              </thead>
              <tbody>
                {statuses.data.map((s) => (
                  <tr key={s.device.device_id} className={s.device.is_active ? undefined : "row-muted"}>
                    <td>
                      <Link href={`/devices/${encodeURIComponent(s.device.device_id)}`}>{s.device.device_name}</Link>{" "}
                      {s.device.is_active ? null : <span className="badge badge-revoked">revoked</span>}
                    </td>
                    <td title={formatInstant(s.last_successful_sync)}>{formatAgo(s.last_successful_sync)}</td>
                    <td>{s.needs_sync ? <span className="badge badge-pending">yes</span> : <span className="badge badge-ok">up to date</span>}</td>
                    <td className="num">{s.pending_conflicts}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
