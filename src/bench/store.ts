/**
 * @file Benchmark: time-to-ready of a pack (every file read and checked against its sha256, as a pipeline reads it
 * through its PackSource) from the weights store in IndexedDB, against fetching it over the network, which here is
 * the loopback Vite server of `npm run bench` (so this is the best case for the network: no latency, no bandwidth
 * limit). Three ways, interleaved, medians:
 * - `IndexedDB` — CachedPackSource on a pack already cached, network off;
 * - `network` — FetchPackSource (fetch + sha256 per file, `cache: 'no-store'` so the HTTP cache does not help);
 * - `first visit` — CachedPackSource on an empty store: fetch, hash, write chunks to IndexedDB, read back, verify.
 * Runs in the benchmark worker, like the app's store (src/store/pack_service.ts).
 */
import { FetchPackSource, type PackSource } from '../packs/source';
import { DEFAULT_TEST_PACK, findPack, packFileUrl } from '../packs/registry';
import { PackStore } from '../store/pack_store';
import { WeightStore, DEFAULT_CHUNK_SIZE } from '../store/weights';
import { formatBytes } from '../store/storage';
import { measureInterleaved, type Impl } from './measure';
import type { Bench, BenchContext, BenchReport } from './registry';

async function readAll(src: PackSource): Promise<number> {
  const m = await src.manifest();
  let n = 0;
  for (const f of m.files) n += (await src.file(f.path)).byteLength;
  if (n !== m.total_bytes) throw new Error(`read ${n} bytes of ${src.id}, the manifest says ${m.total_bytes}`);
  return n;
}

export const storeBench: Bench = {
  name: 'store',
  description:
    'time-to-ready of the tiny-random pack (all files read + sha256-checked): IndexedDB vs network on loopback',
  async run(report: BenchReport, ctx: BenchContext): Promise<void> {
    const id = DEFAULT_TEST_PACK;
    const pack = findPack(id)!;
    const base = new URL(packFileUrl(pack, '', import.meta.env.BASE_URL), self.location.origin).href;
    const noStore: typeof fetch = (input, init) => fetch(input, { ...init, cache: 'no-store' });
    const run = `${Date.now().toString(36)}`;
    const store = (name: string) =>
      new PackStore({
        weights: new WeightStore({ dbName: `rg-bench-${run}-${name}` }),
        baseFor: () => base,
        fetchFn: noStore,
      });

    const cached = store('cached');
    await cached.download(id);
    const cold = store('cold');
    const manifest = (await cached.cachedManifest(id))!.manifest;
    report.log(
      `${manifest.files.length} files, ${formatBytes(manifest.total_bytes)}, ` +
        `chunks of ${DEFAULT_CHUNK_SIZE / 2 ** 20} MiB, from ${base}`,
    );

    const impls: Impl[] = [
      {
        name: 'IndexedDB (CachedPackSource)',
        run: () => readAll(cached.source(id, { network: false })).then(() => {}),
      },
      { name: 'network (FetchPackSource)', run: () => readAll(new FetchPackSource(id, base, noStore)).then(() => {}) },
      {
        name: 'first visit (network → IndexedDB)',
        run: () => readAll(cold.source(id)).then(() => {}),
        cleanup: () => cold.delete(id),
      },
    ];
    const measurements = await measureInterleaved(ctx.device, impls, { warmup: 1, reps: ctx.reps ?? 9 });
    const [idb, net] = measurements;
    report.result({
      name: `${id}: time to ready`,
      sizes: `${manifest.files.length} files, ${formatBytes(manifest.total_bytes)}`,
      baseline: impls[0]!.name,
      measurements,
      notes: [
        `time-to-ready ratio network / IndexedDB = ${(net!.medianMs / idb!.medianMs).toFixed(2)} ` +
          "(loopback: the network's best case)",
        `IndexedDB read + verify: ${(manifest.total_bytes / 1e6 / (idb!.medianMs / 1000)).toFixed(0)} MB/s`,
      ],
    });
  },
};
