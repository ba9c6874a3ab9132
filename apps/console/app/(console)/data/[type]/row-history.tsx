"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { EntityType } from "@repensar/contracts";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { useSession } from "@/components/shell";
import { ErrorState, Loading, StatusMessage } from "@/components/states";
import { errorMessage } from "@/lib/errors";
import { formatInstant } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";

const CHANGE: Record<string, string> = { CREATE: "Created", UPDATE: "Updated", DELETE: "Deleted" };

/**
 * One row's versions, newest first: what each changed, from which device, by whom and when. An admin
 * restores a past version as a new version, which every device receives on its next pull.
 */
export function RowHistory({ type, id, onClose }: { type: EntityType; id: string; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const session = useSession();
  const [restoring, setRestoring] = useState<number | null>(null);
  const [status, setStatus] = useState<{ message: string; tone: "ok" | "error" } | null>(null);
  const history = useQuery(trpc.entities.history.queryOptions({ entity_type: type, entity_id: id }));
  const restore = useMutation(
    trpc.entities.restore.mutationOptions({
      onSuccess: async (result) => {
        setRestoring(null);
        setStatus({ message: `Version ${result.restored_from} restored as version ${result.version}. Devices receive it on their next pull.`, tone: "ok" });
        await queryClient.invalidateQueries({ queryKey: trpc.entities.pathKey() });
      },
      onError: (error) => {
        setRestoring(null);
        setStatus({ message: `Not restored: ${errorMessage(error)}`, tone: "error" });
      },
    }),
  );
  const admin = session.role === "admin";

  return (
    <section className="panel" aria-labelledby="history-heading">
      <div className="page-header">
        <h2 id="history-heading">
          History of <span className="mono">{id}</span>
        </h2>
        <button type="button" className="button" onClick={onClose}>
          Close history
        </button>
      </div>
      <StatusMessage message={status?.message ?? null} tone={status?.tone ?? "info"} />
      {history.isPending ? (
        <Loading what="the row's history" />
      ) : history.isError ? (
        <ErrorState error={history.error} onRetry={() => void history.refetch()} />
      ) : history.data.versions.length === 0 ? (
        <p className="hint">No versions kept: they age out with the tombstone retention.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Versions of {id}</caption>
            <thead>
              <tr>
                <th scope="col" className="num">
                  Version
                </th>
                <th scope="col">Change</th>
                <th scope="col">Fields changed</th>
                <th scope="col">Device</th>
                <th scope="col">User</th>
                <th scope="col">Time</th>
                {admin ? <th scope="col">Restore</th> : null}
              </tr>
            </thead>
            <tbody>
              {history.data.versions.map((v) => (
                <tr key={v.version} data-version={v.version}>
                  <td className="num">{v.version}</td>
                  <td>
                    {CHANGE[v.operation] ?? v.operation}
                    {v.merged ? (
                      <>
                        {" "}
                        <span className="badge badge-neutral">merged</span>
                      </>
                    ) : null}
                  </td>
                  <td>{v.changed_fields.length > 0 ? v.changed_fields.join(", ") : "—"}</td>
                  <td>{v.device_name ?? (v.device_id ? <span className="mono">{v.device_id}</span> : "the console")}</td>
                  <td>{v.user_name ?? "—"}</td>
                  <td>{formatInstant(v.created_at)}</td>
                  {admin ? (
                    <td>
                      {v.version === history.data.current_version ? (
                        <span className="hint">current</span>
                      ) : (
                        <button type="button" className="button" aria-label={`Restore version ${v.version}`} onClick={() => setRestoring(v.version)}>
                          Restore this version
                        </button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={restoring !== null}
        title={restoring === null ? "" : `Restore version ${restoring}?`}
        confirmLabel="Restore"
        busy={restore.isPending}
        onCancel={() => setRestoring(null)}
        onConfirm={() => {
          if (restoring !== null) restore.mutate({ entity_type: type, entity_id: id, version: restoring });
        }}
      >
        <p>The row takes this version&apos;s values as a new version; every device receives it on its next pull. The change is audited.</p>
      </ConfirmDialog>
    </section>
  );
}
