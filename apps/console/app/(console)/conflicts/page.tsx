"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { ConflictTypeSchema, entityTypes, EntityTypeSchema } from "@repensar/contracts";
import { Pager } from "@/components/pager";
import { Empty, ErrorState, Loading } from "@/components/states";
import { formatInstant, humanize } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";

const PAGE = 25;

export default function ConflictsPage() {
  const trpc = useTRPC();
  const [state, setState] = useState<"open" | "all">("open");
  const [entityType, setEntityType] = useState("");
  const [conflictType, setConflictType] = useState("");
  const [deviceId, setDeviceId] = useState("");
  const [offset, setOffset] = useState(0);
  const conflicts = useQuery({
    ...trpc.conflicts.list.queryOptions({
      unresolvedOnly: state === "open",
      ...(entityType ? { entityType: EntityTypeSchema.parse(entityType) } : {}),
      ...(conflictType ? { conflictType: ConflictTypeSchema.parse(conflictType) } : {}),
      ...(deviceId.trim() ? { deviceId: deviceId.trim() } : {}),
      limit: PAGE,
      offset,
    }),
    placeholderData: keepPreviousData,
  });
  const filter = <T,>(set: (value: T) => void) => (value: T) => {
    set(value);
    setOffset(0);
  };

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Conflicts</h1>
          <p>Changes a device pushed on top of a version that had moved on. Open one to resolve it.</p>
        </div>
      </div>
      <form className="filters" role="search" aria-label="Filter conflicts" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="conflict-state">Show</label>
          <select id="conflict-state" value={state} onChange={(e) => filter(setState)(e.target.value === "all" ? "all" : "open")}>
            <option value="open">Open conflicts</option>
            <option value="all">Open and resolved</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="conflict-entity">Entity type</label>
          <select id="conflict-entity" value={entityType} onChange={(e) => filter(setEntityType)(e.target.value)}>
            <option value="">All types</option>
            {entityTypes.map((t) => (
              <option key={t} value={t}>
                {humanize(t)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="conflict-type">Kind</label>
          <select id="conflict-type" value={conflictType} onChange={(e) => filter(setConflictType)(e.target.value)}>
            <option value="">All kinds</option>
            {ConflictTypeSchema.options.map((t) => (
              <option key={t} value={t}>
                {humanize(t)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="conflict-device">Device id</label>
          <input id="conflict-device" value={deviceId} onChange={(e) => filter(setDeviceId)(e.target.value)} />
        </div>
      </form>
      {conflicts.isPending ? (
        <Loading what="conflicts" />
      ) : conflicts.isError ? (
        <ErrorState error={conflicts.error} onRetry={() => void conflicts.refetch()} />
      ) : conflicts.data.conflicts.length === 0 ? (
        <Empty>{state === "open" ? "No open conflicts. Every device agrees with the server." : "No conflict matches these filters."}</Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Conflicts</caption>
              <thead>
                <tr>
                  <th scope="col">Record</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Device</th>
                  <th scope="col">Recorded</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {conflicts.data.conflicts.map((c) => (
                  <tr key={c.conflict_id}>
                    <td>
                      <Link href={`/conflicts/${encodeURIComponent(c.conflict_id)}`}>
                        {humanize(c.entity_type)} <span className="mono">{c.entity_id}</span>
                      </Link>
                    </td>
                    <td>{humanize(c.conflict_type)}</td>
                    <td className="mono">{c.device_id ?? "—"}</td>
                    <td>{formatInstant(c.created_at)}</td>
                    <td>
                      {c.resolution ? (
                        <span className="badge badge-resolved">resolved: {humanize(c.resolution)}</span>
                      ) : (
                        <span className="badge badge-open">open</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager label="Conflicts" offset={offset} limit={PAGE} total={conflicts.data.total} onChange={setOffset} />
        </>
      )}
    </>
  );
}
