// `npm run bench` on a fresh checkout: the benchmark's dev server, started from an empty optimizer cache, must have
// found every third-party module the benchmark sources import before the page loads. A module found only mid-run
// is re-optimised and the page fails with "Failed to fetch dynamically imported module" (it did, on transformers.js).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { describe, expect, it } from 'vitest';
import { benchServerConfig } from '../../../src/cli/bench_run.mjs';

const BENCH = fileURLToPath(new URL('../../../src/bench/', import.meta.url));

/** Bare module specifiers (packages) imported by the page's benchmark sources, statically or with `import()`. */
function benchDependencies(): string[] {
  const found = new Set<string>();
  // The page's benchmarks only: src/bench/native/ is the Node harness (npm run bench:native).
  for (const name of readdirSync(BENCH)) {
    if (!name.endsWith('.ts')) continue;
    const code = readFileSync(join(BENCH, name), 'utf8');
    for (const m of code.matchAll(/(?:from\s+|import\s*\(\s*)'([^'./][^']*)'/g)) {
      const spec = m[1]!;
      if (spec.startsWith('@rg/')) continue; // our own aliases, not packages
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      found.add(pkg.split('?')[0]!);
    }
  }
  return [...found].sort();
}

describe('the benchmark dev server', () => {
  it('discovers every dependency of the benchmark sources at startup, from an empty cache', async () => {
    const deps = benchDependencies();
    expect(deps).toContain('@huggingface/transformers');
    const cacheDir = mkdtempSync(join(tmpdir(), 'rg-bench-vite-'));
    const config = benchServerConfig({ cacheDir });
    const server = await createServer(config);
    try {
      await server.listen();
      const optimizer = server.environments.client.depsOptimizer as unknown as {
        scanProcessing?: Promise<void>;
        metadata: { optimized: Record<string, unknown>; discovered: Record<string, unknown> };
      };
      await optimizer.scanProcessing;
      const known = new Set([
        ...Object.keys(optimizer.metadata.optimized),
        ...Object.keys(optimizer.metadata.discovered),
      ]);
      const excluded = new Set((server.config.optimizeDeps.exclude ?? []) as string[]);
      const missing = deps.filter((d) => !excluded.has(d) && !known.has(d));
      expect(missing, 'dependencies the scan missed (they would be optimised mid-run)').toEqual([]);
    } finally {
      await server.close();
      // The optimiser may still be writing its cache as the server closes (ENOTEMPTY once in CI): retry the removal.
      rmSync(cacheDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    }
  }, 120_000);
});
