import type { ServerContext } from "../context";

/** A monotonically increasing count, optionally split by one label. */
export class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly label?: string,
  ) {}

  inc(by = 1, labelValue = ""): void {
    if (by <= 0) return;
    this.values.set(labelValue, (this.values.get(labelValue) ?? 0) + by);
  }

  value(labelValue = ""): number {
    return this.values.get(labelValue) ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.label === undefined) lines.push(`${this.name} ${this.value()}`);
    else for (const [value, count] of [...this.values].sort()) lines.push(`${this.name}{${this.label}="${value}"} ${count}`);
    return lines.join("\n");
  }
}

/** This process's sync counters, exposed at `/metrics` in the Prometheus text format. */
export interface SyncMetrics {
  pulls: Counter;
  pushes: Counter;
  changesPulled: Counter;
  changesApplied: Counter;
  changesConflicted: Counter;
  changesFailed: Counter;
  conflictsResolved: Counter;
  httpRequests: Counter;
  render(): string;
}

function createSyncMetrics(): SyncMetrics {
  const counters = {
    pulls: new Counter("repensar_sync_pulls_total", "Pull requests answered."),
    pushes: new Counter("repensar_sync_pushes_total", "Push requests answered."),
    changesPulled: new Counter("repensar_sync_changes_pulled_total", "Changes handed out by pulls."),
    changesApplied: new Counter("repensar_sync_changes_applied_total", "Pushed changes applied."),
    changesConflicted: new Counter("repensar_sync_changes_conflict_total", "Pushed changes that met a conflict."),
    changesFailed: new Counter("repensar_sync_changes_failed_total", "Pushed changes refused."),
    conflictsResolved: new Counter("repensar_sync_conflicts_resolved_total", "Conflicts resolved."),
    httpRequests: new Counter("repensar_http_requests_total", "HTTP requests answered, by status.", "status"),
  };
  return {
    ...counters,
    render: () => `${Object.values(counters).map((c) => c.render()).join("\n")}\n`,
  };
}

const byContext = new WeakMap<ServerContext, SyncMetrics>();

/** The counters of the app that owns `ctx` (one set per app, so tests do not share them). */
export function metricsFor(ctx: ServerContext): SyncMetrics {
  let metrics = byContext.get(ctx);
  if (!metrics) {
    metrics = createSyncMetrics();
    byContext.set(ctx, metrics);
  }
  return metrics;
}
