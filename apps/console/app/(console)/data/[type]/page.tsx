"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useParams } from "next/navigation";
import { useState } from "react";
import { entityDefinitions, isEntityType, type EntityType } from "@repensar/contracts";
import { Pager } from "@/components/pager";
import { Empty, ErrorState, Loading } from "@/components/states";
import { formatInstant, formatValue, humanize } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { RowHistory } from "./row-history";

const PAGE = 50;

export default function DataPage() {
  const params = useParams<{ type: string }>();
  const type = decodeURIComponent(params.type);
  if (!isEntityType(type)) {
    return (
      <div className="state state-error" role="alert">
        <h1>Unknown entity type</h1>
        <p>There is no entity type called “{type}”.</p>
      </div>
    );
  }
  return <EntityTable key={type} type={type} />;
}

function EntityTable({ type }: { type: EntityType }) {
  const trpc = useTRPC();
  const [includeDeleted, setIncludeDeleted] = useState(false);
  const [offset, setOffset] = useState(0);
  const [search, setSearch] = useState("");
  const [historyOf, setHistoryOf] = useState<string | null>(null);
  const rows = useQuery({
    ...trpc.entities.browse.queryOptions({
      entity_type: type,
      include_deleted: includeDeleted,
      ...(search.trim() ? { search: search.trim() } : {}),
      limit: PAGE,
      offset,
    }),
    placeholderData: keepPreviousData,
  });
  const fields = Object.keys(entityDefinitions[type].fields);

  return (
    <>
      <div className="page-header">
        <div>
          <h1>{humanize(type)}</h1>
          <p>The server&apos;s rows. Devices change them; this page shows what they agree on, and each row&apos;s history.</p>
        </div>
      </div>
      <form className="filters" role="search" aria-label={`Filter ${humanize(type).toLowerCase()} rows`} onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="row-search">Id or text</label>
          <input
            id="row-search"
            type="search"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setOffset(0);
            }}
          />
        </div>
        <div className="field field-inline">
          <input
            id="include-deleted"
            type="checkbox"
            checked={includeDeleted}
            onChange={(e) => {
              setIncludeDeleted(e.target.checked);
              setOffset(0);
            }}
          />
          <label htmlFor="include-deleted">Show deleted rows</label>
        </div>
      </form>
      {rows.isPending ? (
        <Loading what={`${humanize(type).toLowerCase()} rows`} />
      ) : rows.isError ? (
        <ErrorState error={rows.error} onRetry={() => void rows.refetch()} />
      ) : rows.data.rows.length === 0 ? (
        <Empty>{search.trim()
            ? "No row matches this search."
            : includeDeleted
              ? "No rows, deleted or not."
              : "No rows yet. They appear once a device pushes some."}</Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">{humanize(type)} rows</caption>
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  {fields.map((f) => (
                    <th scope="col" key={f}>
                      {f}
                    </th>
                  ))}
                  <th scope="col" className="num">
                    Version
                  </th>
                  <th scope="col">Last changed by</th>
                  {includeDeleted ? <th scope="col">Deleted</th> : null}
                  <th scope="col">History</th>
                </tr>
              </thead>
              <tbody>
                {rows.data.rows.map((row) => (
                  <tr key={row.entity_id} className={row.deleted_at ? "row-muted" : undefined}>
                    <td className="mono">{row.entity_id}</td>
                    {fields.map((f) => (
                      <td key={f}>{formatValue(row.data[f])}</td>
                    ))}
                    <td className="num">{row.version}</td>
                    <td className="mono">{row.modified_by_device_id ?? "the console"}</td>
                    {includeDeleted ? <td>{row.deleted_at ? <span className="badge badge-deleted">{formatInstant(row.deleted_at)}</span> : "—"}</td> : null}
                    <td>
                      <button type="button" className="button" aria-label={`History of ${row.entity_id}`} onClick={() => setHistoryOf(row.entity_id)}>
                        History
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager label={humanize(type)} offset={offset} limit={PAGE} total={rows.data.total} onChange={setOffset} />
          {historyOf ? <RowHistory key={historyOf} type={type} id={historyOf} onClose={() => setHistoryOf(null)} /> : null}
        </>
      )}
    </>
  );
}
