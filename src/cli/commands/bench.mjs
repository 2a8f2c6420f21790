// @ts-check
// @file `rg bench`: the benchmarks of `npm run bench` (src/cli/bench_run.mjs), same report; no session of its own.

/** @param {import('../args.mjs').BenchCommand} cmd @returns {Promise<number>} the exit status */
export async function bench(cmd) {
  const { runBench } = await import('../bench_run.mjs');
  return runBench({ filter: cmd.filter, json: cmd.json, reps: cmd.reps, timeout: cmd.timeout });
}
