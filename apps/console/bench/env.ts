/** The only place the end-to-end bench reads the process environment: its knobs, all optional. */
export const benchEnv: Readonly<Record<string, string | undefined>> = {
  DATABASE_URL: process.env.DATABASE_URL,
  BENCH_UPLOAD_ROWS: process.env.BENCH_UPLOAD_ROWS,
  BENCH_INITIAL_ROWS: process.env.BENCH_INITIAL_ROWS,
  BENCH_PUSH_BATCH: process.env.BENCH_PUSH_BATCH,
  BENCH_ONLY: process.env.BENCH_ONLY,
  BENCH_SERVER_NODE_ARGS: process.env.BENCH_SERVER_NODE_ARGS,
};
