"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { DevicePlatformSchema, type Device } from "@repensar/contracts";
import { useSession } from "@/components/shell";
import { Empty, ErrorState, Loading } from "@/components/states";
import { formatAgo, formatInstant } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";

const ACTIVITY = {
  any: { label: "Any time", test: () => true },
  day: { label: "Seen in the last 24 hours", test: (age: number) => age <= 86_400_000 },
  week: { label: "Seen in the last 7 days", test: (age: number) => age <= 7 * 86_400_000 },
  idle: { label: "Not seen for 30 days or more", test: (age: number) => age > 30 * 86_400_000 },
} as const;
type Activity = keyof typeof ACTIVITY;
type DeviceState = "active" | "revoked" | "all";

function lastActivity(device: Device): string | null {
  return device.last_seen_at ?? device.last_sync_at;
}

function matchesActivity(device: Device, activity: Activity, now: number): boolean {
  if (activity === "any") return true;
  const at = lastActivity(device);
  // A device never seen is idle, not recent.
  if (at === null) return activity === "idle";
  return ACTIVITY[activity].test(now - new Date(at).getTime());
}

export default function DevicesPage() {
  const trpc = useTRPC();
  const session = useSession();
  const [platform, setPlatform] = useState("");
  const [state, setState] = useState<DeviceState>("active");
  const [activity, setActivity] = useState<Activity>("any");
  const [search, setSearch] = useState("");
  const devices = useQuery(
    trpc.devices.list.queryOptions({
      ...(platform ? { platform: DevicePlatformSchema.parse(platform) } : {}),
      ...(state === "all" ? { includeInactive: true } : { active: state === "active" }),
      ...(search.trim() ? { search: search.trim() } : {}),
    }),
  );
  const now = Date.now();
  const shown = devices.data?.devices.filter((d) => matchesActivity(d, activity, now)) ?? [];
  const isAdmin = session.role === "admin";

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Devices</h1>
          <p>{isAdmin ? "Every device of your organization." : "The devices you have signed in on."}</p>
        </div>
      </div>
      <form className="filters" role="search" aria-label="Filter devices" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="device-search">Name or id</label>
          <input id="device-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="device-platform">Platform</label>
          <select id="device-platform" value={platform} onChange={(e) => setPlatform(e.target.value)}>
            <option value="">All platforms</option>
            {DevicePlatformSchema.options.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="device-activity">Activity</label>
          <select id="device-activity" value={activity} onChange={(e) => setActivity(e.target.value as Activity)}>
            {Object.entries(ACTIVITY).map(([key, { label }]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="device-state">State</label>
          <select id="device-state" value={state} onChange={(e) => setState(e.target.value as DeviceState)}>
            <option value="active">Active</option>
            <option value="revoked">Revoked</option>
            <option value="all">Active and revoked</option>
          </select>
        </div>
      </form>
      {devices.isPending ? (
        <Loading what="devices" />
      ) : devices.isError ? (
        <ErrorState error={devices.error} onRetry={() => void devices.refetch()} />
      ) : shown.length === 0 ? (
        <Empty>
          {devices.data.devices.length === 0 && !platform && !search && state === "active"
            ? "No devices yet. A device appears here once an app signs in and registers it."
            : "No device matches these filters."}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Devices ({shown.length})</caption>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Platform</th>
                {isAdmin ? <th scope="col">Owner</th> : null}
                <th scope="col">App version</th>
                <th scope="col">Last seen</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((device) => (
                <tr key={device.device_id} className={device.is_active ? undefined : "row-muted"}>
                  <td>
                    <Link href={`/devices/${encodeURIComponent(device.device_id)}`}>{device.device_name}</Link>
                    <div className="hint mono">{device.device_id}</div>
                  </td>
                  <td>
                    {device.platform}
                    {device.os_version ? <div className="hint">{device.os_version}</div> : null}
                  </td>
                  {isAdmin ? <td>{device.owner?.email ?? "—"}</td> : null}
                  <td>{device.app_version ?? "—"}</td>
                  <td title={formatInstant(lastActivity(device))}>{formatAgo(lastActivity(device))}</td>
                  <td>
                    <span className={`badge badge-${device.is_active ? "active" : "revoked"}`}>{device.is_active ? "active" : "revoked"}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
