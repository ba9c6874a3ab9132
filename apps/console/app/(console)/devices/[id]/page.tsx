"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useParams } from "next/navigation";
import { useState } from "react";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { Empty, ErrorState, Loading, StatusMessage } from "@/components/states";
import { errorCode, errorMessage } from "@/lib/errors";
import { formatAgo, formatInstant, formatValue, humanize } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { EventDetails } from "@/components/details";

export default function DevicePage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const params = useParams<{ id: string }>();
  const deviceId = decodeURIComponent(params.id);
  const [confirming, setConfirming] = useState(false);
  const [status, setStatus] = useState<{ message: string; tone: "ok" | "error" } | null>(null);
  const detail = useQuery(trpc.devices.get.queryOptions({ deviceId }));
  const revoke = useMutation(
    trpc.devices.revoke.mutationOptions({
      onSuccess: async () => {
        // Every cached device list is refreshed too, so none still shows the device as active.
        await queryClient.invalidateQueries({ queryKey: trpc.devices.pathKey(), refetchType: "all" });
        setConfirming(false);
        setStatus({ message: "Device revoked. Its tokens are refused from its next request on.", tone: "ok" });
      },
      onError: (error) => {
        setConfirming(false);
        setStatus({ message: `The device was not revoked: ${errorMessage(error)}`, tone: "error" });
      },
    }),
  );

  if (detail.isPending) return <Loading what="the device" />;
  if (detail.isError) {
    return (
      <>
        <p className="breadcrumb">
          <Link href="/devices">Devices</Link>
        </p>
        {errorCode(detail.error) === "NOT_FOUND" ? (
          <div className="state state-error" role="alert">
            <p>This device does not exist, or it belongs to someone else.</p>
          </div>
        ) : (
          <ErrorState error={detail.error} onRetry={() => void detail.refetch()} />
        )}
      </>
    );
  }
  const { device, syncStates, recentAudit } = detail.data;
  if (!device) return <ErrorState error={new TypeError("The server sent no device.")} />;

  return (
    <>
      <p className="breadcrumb">
        <Link href="/devices">Devices</Link> / {device.device_name}
      </p>
      <div className="page-header">
        <div>
          <h1>{device.device_name}</h1>
          <p className="mono">{device.device_id}</p>
        </div>
        <div className="actions">
          <span className={`badge badge-${device.is_active ? "active" : "revoked"}`}>{device.is_active ? "active" : "revoked"}</span>
          {device.is_active ? (
            <button type="button" className="button button-danger" onClick={() => setConfirming(true)}>
              Revoke device
            </button>
          ) : null}
        </div>
      </div>
      <StatusMessage message={status?.message ?? null} tone={status?.tone ?? "info"} />

      <div className="grid-2 section">
        <section className="panel" aria-labelledby="about-heading">
          <h2 id="about-heading">About</h2>
          <dl className="facts">
            <dt>Owner</dt>
            <dd>{device.owner ? `${device.owner.name} (${device.owner.email})` : "—"}</dd>
            <dt>Type</dt>
            <dd>{device.device_type}</dd>
            <dt>Platform</dt>
            <dd>{device.platform}</dd>
            <dt>OS version</dt>
            <dd>{device.os_version ?? "not reported"}</dd>
            <dt>App version</dt>
            <dd>{device.app_version ?? "not reported"}</dd>
            <dt>Registered</dt>
            <dd>{formatInstant(device.registered_at)}</dd>
            <dt>Last seen</dt>
            <dd>
              {formatAgo(device.last_seen_at)} <span className="hint">({formatInstant(device.last_seen_at)})</span>
            </dd>
            <dt>Last sync</dt>
            <dd>{formatInstant(device.last_sync_at)}</dd>
          </dl>
        </section>
        <section className="panel" aria-labelledby="sync-heading">
          <h2 id="sync-heading">Sync state per entity type</h2>
          {syncStates.length === 0 ? (
            <Empty>This device has not pulled anything yet.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Entity type</th>
                    <th scope="col">Last synced</th>
                    <th scope="col" className="num">
                      Position
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {syncStates.map((s) => (
                    <tr key={s.entityType}>
                      <th scope="row">{humanize(s.entityType)}</th>
                      <td>{formatInstant(s.lastSyncedAt)}</td>
                      <td className="num">{formatValue(s.lastSyncedVersion)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>

      <section className="section" aria-labelledby="audit-heading">
        <h2 id="audit-heading">Recent events</h2>
        {recentAudit.length === 0 ? (
          <Empty>No events recorded for this device.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Event</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {recentAudit.map((e) => (
                  <tr key={e.id}>
                    <td>{formatInstant(e.createdAt)}</td>
                    <td>{humanize(e.eventType.toLowerCase())}</td>
                    <td>
                      <EventDetails details={e.details} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <ConfirmDialog
        open={confirming}
        title={`Revoke ${device.device_name}?`}
        confirmLabel="Revoke device"
        danger
        busy={revoke.isPending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => revoke.mutate({ deviceId })}
      >
        <p>The device will be signed out: its tokens are refused from its next request, and it can no longer sync.</p>
        <p>Changes it has not pushed yet stay on the device. This cannot be undone; the owner signs in again to register a new device.</p>
      </ConfirmDialog>
    </>
  );
}
