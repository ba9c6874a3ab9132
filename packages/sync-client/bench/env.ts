/** The only place the benchmarks read the process environment. */
export const benchRows = (fallback: number): number => Number(process.env.BENCH_ROWS ?? fallback);

/** Push batch sizes to measure, e.g. `BENCH_PUSH_BATCHES=250,1000`. */
export const benchPushBatches = (fallback: readonly number[]): number[] =>
  process.env.BENCH_PUSH_BATCHES ? process.env.BENCH_PUSH_BATCHES.split(",").map(Number) : [...fallback];

/** Where the in-process server keeps its data: the test harness takes DATABASE_URL as it is. */
export const benchDatabase = (): "postgresql" | "pglite" => (process.env.DATABASE_URL ? "postgresql" : "pglite");

/** Measure the client against the stub server only. */
export const benchStubOnly = (): boolean => process.env.BENCH_PUSH_STUB_ONLY !== undefined;
