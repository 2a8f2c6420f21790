// @file The benchmark run shared by `npm run bench` (scripts/bench.mjs) and `rg bench` (src/cli/rg.mjs): starts a Vite
// dev server (vite.config.ts), opens bench.html in headless Chromium with WebGPU, runs every registered benchmark
// (src/bench/registry.ts), prints a table of medians and ratios on stdout and, with `json`, writes the results.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { chromium } from 'playwright';
import { findChromium, QUIET_ARGS, WEBGPU_ARGS } from './browser.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/** Prints one case as an aligned table: implementation, median, min, and time relative to the baseline. */
function printCase(bench, c) {
  const base = c.measurements.find((m) => m.impl === c.baseline) ?? c.measurements[0];
  const rows = c.measurements.map((m) => [
    m.impl,
    fmtMs(m.medianMs),
    fmtMs(m.minMs),
    m === base ? '1.00 (baseline)' : `${(m.medianMs / base.medianMs).toFixed(2)}`,
  ]);
  const head = ['implementation', 'median ms', 'min ms', `time ÷ ${base.impl}`];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => '  ' + r.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  console.log(`\n[${bench}] ${c.name} — ${c.sizes}`);
  console.log(line(head));
  console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  for (const m of c.measurements) {
    if (m !== base) {
      const r = m.medianMs / base.medianMs;
      console.log(
        `  ${base.impl} is ${r >= 1 ? `${r.toFixed(2)}x faster than` : `${(1 / r).toFixed(2)}x slower than`} ${m.impl}`,
      );
    }
  }
  for (const n of c.notes) console.log(`  ${n}`);
}

/**
 * The inline Vite settings of the benchmark's dev server (merged over vite.config.ts). The benchmarks run in a
 * worker started with `new Worker(new URL(…))`, which Vite's dependency scan does not follow from bench.html; a
 * dependency only the worker imports (transformers.js) would then be discovered mid-run, re-optimised, and the page
 * would fail with "Failed to fetch dynamically imported module" on the first run of a fresh checkout. Listing the
 * benchmark sources as scan entries makes the scan find every dependency before the page loads.
 * @param {{ cacheDir?: string }} [opts] `cacheDir`: another optimizer cache (a test starts from an empty one)
 */
export function benchServerConfig(opts = {}) {
  return {
    root,
    configFile: fileURLToPath(new URL('../../vite.config.ts', import.meta.url)),
    logLevel: /** @type {const} */ ('error'),
    clearScreen: false,
    server: { port: 0, strictPort: false, hmr: false },
    // src/bench/*.ts only: src/bench/native/ is the Node harness (npm run bench:native), never loaded by the page.
    optimizeDeps: { entries: ['*.html', 'src/bench/*.ts'] },
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
  };
}

/**
 * Runs the benchmarks and prints the report. Resolves to the exit status: 0, or 1 when a benchmark throws, the page
 * fails, or the run times out.
 * @param {{ filter?: string, json?: string, reps?: string, timeout?: string }} opts timeout in seconds (default 600)
 * @returns {Promise<number>}
 */
export async function runBench(opts) {
  const server = await createServer(benchServerConfig());
  let browser;
  let exitCode;
  try {
    await server.listen();
    const base = server.resolvedUrls?.local[0];
    if (!base) throw new Error('the Vite dev server did not report a URL');
    browser = await chromium.launch({
      executablePath: findChromium(),
      args: [...WEBGPU_ARGS, ...QUIET_ARGS],
      headless: true,
    });
    const page = await browser.newPage();

    const results = { startedAt: new Date().toISOString(), adapter: '', userAgent: '', benches: [] };
    let current;
    let failed = false;
    let resolveDone;
    const done = new Promise((r) => (resolveDone = r));

    page.on('pageerror', (e) => {
      console.error(`page error: ${e.message}`);
      failed = true;
    });
    // Page (and worker) console errors and warnings go to stderr, each distinct text once (onnxruntime-web repeats
    // its warnings on every run); BENCH_VERBOSE=1 shows everything.
    const seen = new Set();
    page.on('console', (m) => {
      const text = `[page ${m.type()}] ${m.text()}`;
      // onnxruntime-web stamps each line with the time; compare without it.
      const key = m.text().replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+/g, '');
      if (process.env.BENCH_VERBOSE) console.error(text);
      else if ((m.type() === 'error' || m.type() === 'warning') && !seen.has(key)) {
        seen.add(key);
        console.error(text);
      }
    });
    page.on('crash', () => {
      console.error('the page crashed');
      failed = true;
      resolveDone(false);
    });

    await page.exposeFunction('__benchEmit', (e) => {
      switch (e.type) {
        case 'start':
          // A reload (e.g. Vite re-optimising dependencies) starts over.
          results.adapter = e.adapter;
          results.userAgent = e.userAgent;
          results.benches = [];
          console.log(`adapter: ${e.adapter}`);
          console.log(`benchmarks: ${e.benches.join(', ') || '(none match)'}`);
          if (!e.benches.length) failed = true;
          break;
        case 'bench':
          current = { name: e.name, description: e.description, cases: [], log: [] };
          results.benches.push(current);
          console.log(`\n== ${e.name}: ${e.description}`);
          break;
        case 'log':
          current?.log.push(e.line);
          console.log(`  · ${e.line}`);
          break;
        case 'case':
          current?.cases.push(e.result);
          printCase(e.bench, e.result);
          break;
        case 'error':
          failed = true;
          if (current && current.name === e.bench) current.error = e.message;
          else results.benches.push({ name: e.bench, error: e.message, cases: [], log: [] });
          console.error(`\n!! ${e.bench} failed: ${e.message}`);
          break;
        case 'done':
          resolveDone(e.ok);
          break;
      }
    });

    const url = new URL('bench.html', base);
    if (opts.filter) url.searchParams.set('filter', opts.filter);
    if (opts.reps) url.searchParams.set('reps', opts.reps);
    const t0 = Date.now();
    await page.goto(url.href);
    const timeoutS = Number(opts.timeout ?? '600');
    let timer;
    const ok = await Promise.race([
      done,
      new Promise((r) => (timer = setTimeout(() => r('timeout'), timeoutS * 1000))),
    ]);
    clearTimeout(timer);
    if (ok === 'timeout') {
      console.error(`\ntimed out after ${timeoutS} s`);
      failed = true;
    } else if (!ok) failed = true;
    results.seconds = (Date.now() - t0) / 1000;
    console.log(`\nfinished in ${results.seconds.toFixed(1)} s${failed ? ' WITH FAILURES' : ''}`);
    if (opts.json) {
      writeFileSync(opts.json, JSON.stringify(results, null, 2) + '\n');
      console.log(`results written to ${opts.json}`);
    }
    exitCode = failed ? 1 : 0;
  } catch (e) {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    exitCode = 1;
  } finally {
    await browser?.close().catch(() => {});
    await server.close().catch(() => {});
  }
  return exitCode;
}
