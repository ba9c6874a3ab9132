"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useParams } from "next/navigation";
import { useState } from "react";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { ErrorState, Loading, StatusMessage } from "@/components/states";
import { errorMessage } from "@/lib/errors";
import { formatInstant, formatValue, humanize } from "@/lib/format";
import { compareFields, compareThreeWay, type ThreeWayComparison } from "@/lib/merge";
import { useTRPC } from "@/lib/trpc";
import { MergeEditor } from "./merge-editor";

type Whole = "client_wins" | "server_wins";

const WHOLE_LABEL: Record<Whole, string> = { client_wins: "Keep the client's version", server_wins: "Keep the server's version" };

export default function ConflictPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const params = useParams<{ id: string }>();
  const conflictId = decodeURIComponent(params.id);
  const [confirming, setConfirming] = useState<Whole | null>(null);
  const [merging, setMerging] = useState(false);
  const [status, setStatus] = useState<{ message: string; tone: "ok" | "error" } | null>(null);
  const conflict = useQuery({
    ...trpc.conflicts.get.queryOptions({ conflictId }),
    retry: (failures, error) => error.data?.code !== "NOT_FOUND" && failures < 2,
  });
  const resolve = useMutation(
    trpc.conflicts.resolve.mutationOptions({
      onSuccess: async (_data, input) => {
        setConfirming(null);
        setMerging(false);
        setStatus({ message: `Resolved: ${humanize(input.resolution)}. Devices receive the result on their next pull.`, tone: "ok" });
        await queryClient.invalidateQueries({ queryKey: trpc.conflicts.pathKey() });
      },
      onError: (error) => {
        setConfirming(null);
        setStatus({ message: `Not resolved: ${errorMessage(error)}`, tone: "error" });
      },
    }),
  );

  if (conflict.isPending) return <Loading what="the conflict" />;
  const notFound = conflict.isError && conflict.error.data?.code === "NOT_FOUND";
  if (conflict.isError && !notFound) {
    return (
      <>
        <p className="breadcrumb">
          <Link href="/conflicts">Conflicts</Link>
        </p>
        <ErrorState error={conflict.error} onRetry={() => void conflict.refetch()} />
      </>
    );
  }
  const c = notFound ? undefined : conflict.data;
  if (!c) {
    return (
      <>
        <p className="breadcrumb">
          <Link href="/conflicts">Conflicts</Link>
        </p>
        <div className="state state-error" role="alert">
          <p>This conflict does not exist, or it belongs to a device you cannot see.</p>
        </div>
      </>
    );
  }
  const fields = compareFields(c.entity_type, c.server_data, c.client_data);
  const threeWay = c.base_data ? compareThreeWay(c.entity_type, c.base_data, c.server_data, c.client_data) : null;
  const differing = fields.filter((f) => f.differs).length;
  const open = !c.resolution;

  return (
    <>
      <p className="breadcrumb">
        <Link href="/conflicts">Conflicts</Link> / {c.entity_id}
      </p>
      <div className="page-header">
        <div>
          <h1>
            {humanize(c.entity_type)} <span className="mono">{c.entity_id}</span>
          </h1>
          <p>
            {humanize(c.conflict_type)} · recorded {formatInstant(c.created_at)} · device <span className="mono">{c.device_id ?? "unknown"}</span>
          </p>
        </div>
        {open ? (
          <span className="badge badge-open">open</span>
        ) : (
          <span className="badge badge-resolved">
            resolved: {humanize(c.resolution ?? "")} {c.resolved_at ? `on ${formatInstant(c.resolved_at)}` : ""}
          </span>
        )}
      </div>
      <StatusMessage message={status?.message ?? null} tone={status?.tone ?? "info"} />

      {threeWay ? (
        <ThreeWayTable fields={threeWay} clientVersion={c.client_version} serverVersion={c.server_version} suggested={c.suggested_resolution} />
      ) : (
        <section className="section" aria-labelledby="compare-heading">
          <h2 id="compare-heading">Client and server side by side</h2>
          <p className="hint">
            {differing === 0 ? "No field differs." : `${differing} field${differing === 1 ? "" : "s"} differ${differing === 1 ? "s" : ""}, highlighted below.`} The
            client&apos;s change was based on version {c.client_version}; the server is at version {c.server_version}. Suggested: {humanize(c.suggested_resolution)}.
          </p>
          <div className="table-wrap">
            <table className="compare">
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Client (version {c.client_version})</th>
                  <th scope="col">Server (version {c.server_version})</th>
                </tr>
              </thead>
              <tbody>
                {fields.map((f) => (
                  <tr key={f.name} className={f.differs ? "differs" : undefined} data-field={f.name}>
                    <th scope="row">
                      {f.name}
                      {f.differs ? <span className="differs-mark">differs</span> : null}
                    </th>
                    <td>{f.clientHas ? formatValue(f.client) : <span className="hint">not changed</span>}</td>
                    <td>{formatValue(f.server)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">Modified</th>
                  <td>{c.client_modified_at ? formatInstant(c.client_modified_at) : "not reported"}</td>
                  <td>{formatInstant(c.server_modified_at)}</td>
                </tr>
              </tfoot>
            </table>
          </div>
        </section>
      )}

      {open ? (
        merging ? (
          <MergeEditor
            entityType={c.entity_type}
            fields={fields}
            busy={resolve.isPending}
            onCancel={() => setMerging(false)}
            onSubmit={(merged) => resolve.mutate({ conflictId, resolution: "manual", mergedFields: merged })}
          />
        ) : (
          <section className="section" aria-labelledby="resolve-heading">
            <h2 id="resolve-heading">Resolve</h2>
            <div className="actions">
              <button type="button" className="button" onClick={() => setConfirming("client_wins")}>
                Client wins
              </button>
              <button type="button" className="button" onClick={() => setConfirming("server_wins")}>
                Server wins
              </button>
              <button type="button" className="button button-primary" onClick={() => setMerging(true)}>
                Merge field by field
              </button>
            </div>
          </section>
        )
      ) : null}

      <ConfirmDialog
        open={confirming !== null}
        title={confirming ? `${WHOLE_LABEL[confirming]}?` : ""}
        confirmLabel={confirming === "client_wins" ? "Client wins" : "Server wins"}
        busy={resolve.isPending}
        onCancel={() => setConfirming(null)}
        onConfirm={() => {
          if (confirming) resolve.mutate({ conflictId, resolution: confirming });
        }}
      >
        <p>
          {confirming === "client_wins"
            ? "The client's change is applied as a new version; every device receives it on its next pull."
            : "The record stays as the server has it; the client's change is dropped."}
        </p>
      </ConfirmDialog>
    </>
  );
}

/** Base, device and server side by side, each field marked with the side or sides that changed it. */
function ThreeWayTable({ fields, clientVersion, serverVersion, suggested }: { fields: ThreeWayComparison[]; clientVersion: number; serverVersion: number; suggested: string }) {
  const byDevice = fields.filter((f) => f.deviceChanged).map((f) => f.name);
  const byServer = fields.filter((f) => f.serverChanged).map((f) => f.name);
  const list = (names: string[]) => (names.length === 0 ? "nothing" : names.join(", "));
  return (
    <section className="section" aria-labelledby="compare-heading">
      <h2 id="compare-heading">Base, device and server side by side</h2>
      <p className="hint">
        Both started from version {clientVersion}. The device changed {list(byDevice)}; the server, now at version {serverVersion}, changed {list(byServer)}.
        Suggested: {humanize(suggested)}.
      </p>
      <div className="table-wrap">
        <table className="compare">
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Base (version {clientVersion})</th>
              <th scope="col">Device</th>
              <th scope="col">Server (version {serverVersion})</th>
            </tr>
          </thead>
          <tbody>
            {fields.map((f) => (
              <tr
                key={f.name}
                className={f.differs ? "differs" : undefined}
                data-field={f.name}
                data-changed={[f.deviceChanged ? "device" : "", f.serverChanged ? "server" : ""].filter(Boolean).join(" ")}
              >
                <th scope="row">
                  {f.name}
                  {f.deviceChanged && f.serverChanged ? <span className="differs-mark">changed on both sides</span> : null}
                </th>
                <td>{formatValue(f.base)}</td>
                <td>
                  {f.deviceChanged ? formatValue(f.client) : <span className="hint">not changed</span>}
                  {f.deviceChanged ? <span className="changed-mark">changed by the device</span> : null}
                </td>
                <td>
                  {formatValue(f.server)}
                  {f.serverChanged ? <span className="changed-mark">changed on the server</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
