"use client";
import { useQuery } from "@tanstack/react-query";
import { ErrorState, Loading } from "@/components/states";
import { useTRPC } from "@/lib/trpc";

const OPERATIONS = [
  { key: "push", label: "Push" },
  { key: "pull", label: "Pull (with changes)" },
  { key: "empty_poll", label: "Pull (nothing new)" },
] as const;

/** A latency in seconds, as people read it: "0.8 ms", "12 ms", "1.4 s"; a dash before any request. */
export function formatLatency(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const ms = seconds * 1000;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * p50 and p99 of push and pull on this instance since it started, read from the same histograms
 * `/metrics` exposes (estimated from their buckets, as Prometheus does).
 */
export function SyncLatency() {
  const trpc = useTRPC();
  const latency = useQuery({ ...trpc.sync.latency.queryOptions(), refetchInterval: 15_000 });
  return (
    <section className="section" aria-labelledby="latency-heading">
      <h2 id="latency-heading">Sync latency</h2>
      {latency.isPending ? (
        <Loading what="sync latency" />
      ) : latency.isError ? (
        <ErrorState error={latency.error} onRetry={() => void latency.refetch()} />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col" className="num">
                  Answered
                </th>
                <th scope="col" className="num">
                  p50
                </th>
                <th scope="col" className="num">
                  p99
                </th>
              </tr>
            </thead>
            <tbody>
              {OPERATIONS.map(({ key, label }) => {
                const row = latency.data[key];
                return (
                  <tr key={key}>
                    <td>{label}</td>
                    <td className="num">{row?.count ?? 0}</td>
                    <td className="num">{formatLatency(row?.p50)}</td>
                    <td className="num">{formatLatency(row?.p99)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p className="hint">Successful answers on this server since it started, from its /metrics histograms.</p>
        </div>
      )}
    </section>
  );
}
