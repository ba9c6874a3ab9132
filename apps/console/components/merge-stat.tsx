"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/lib/trpc";

/** The dashboard's count of stale changes the server merged by itself, beside the conflicts of the same period. */
export function MergeStat({ from, to, period }: { from: string; to: string; period: string }) {
  const trpc = useTRPC();
  const counts = useQuery(trpc.conflicts.mergeCounts.queryOptions({ from, to }));
  return (
    <li className="stat" data-stat="merges">
      <p className="stat-label">Merged automatically ({period})</p>
      <p className="stat-value">{counts.data ? counts.data.merged : counts.isError ? "?" : "…"}</p>
      <p className="stat-label">{counts.data ? `${counts.data.conflicts} conflict${counts.data.conflicts === 1 ? "" : "s"} recorded` : ""}</p>
    </li>
  );
}
