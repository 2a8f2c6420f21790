// @file `npm run bench`: starts a Vite dev server (vite.config.ts), opens bench.html in headless Chromium with
// WebGPU, runs every registered benchmark (src/bench/registry.ts) and prints a table of medians and ratios.
//
//   node scripts/bench.mjs [--filter NAME] [--json FILE] [--reps N] [--timeout SECONDS]
//
// Exits non-zero when a benchmark throws, the page fails, or the run times out.
import { parseArgs } from 'node:util';
import { runBench } from '../src/cli/bench_run.mjs';

const { values: opts } = parseArgs({
  options: {
    filter: { type: 'string' },
    json: { type: 'string' },
    reps: { type: 'string' },
    timeout: { type: 'string', default: '600' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  console.log('usage: node scripts/bench.mjs [--filter NAME] [--json FILE] [--reps N] [--timeout SECONDS]');
  process.exit(0);
}

process.exit(await runBench(opts));
