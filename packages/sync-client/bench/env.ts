/** The only place the benchmarks read the process environment. */
export const benchRows = (fallback: number): number => Number(process.env.BENCH_ROWS ?? fallback);
