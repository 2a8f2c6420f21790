/// <reference types="node" />
/**
 * @file `npm run bench:native` entry (built by scripts/bench_native.mjs into one script): creates the Dawn device,
 * runs the native cases and the determinism record, prints one line per case and writes the JSON report.
 *
 * Options: --sizes tiny|real|all (default all), --max-bytes N[K|M|G] (default 64 MiB on a software adapter, 64 GiB
 * on any other), --reps N (default 5), --only REGEX, --out FILE (default $OUT/report.json when OUT is
 * set, else bench-native-report.json), --hashes FILE (default tests/fixtures/native/hashes.json), --write-hashes
 * FILE (record this adapter's hashes), --no-determinism, --dawn FLAG (repeatable, passed to Dawn's create).
 * Exit status: the number of cases skipped or failed (0 when every selected case ran and passed), at most 125.
 */
import './globals';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createNativeGpu } from './device';
import { repoJson, repoRoot } from './data';
import type { HashRecord } from './determinism';
import { isSoftware } from './roofline';
import { runNative } from './run';

function parseBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(v.trim());
  if (!m) throw new Error(`--max-bytes: cannot read ${v}`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * mult;
}

async function main(argv: string[]): Promise<number> {
  const args = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const flag = a.slice(2);
    const value = flag === 'no-determinism' ? 'true' : argv[++i];
    if (value === undefined) throw new Error(`${a} needs a value`);
    args.set(flag, [...(args.get(flag) ?? []), value]);
  }
  const one = (k: string) => args.get(k)?.at(-1);
  const sizes = (one('sizes') ?? 'all') as 'tiny' | 'real' | 'all';
  if (!['tiny', 'real', 'all'].includes(sizes)) throw new Error(`--sizes must be tiny, real or all, got ${sizes}`);
  const gpu = await createNativeGpu(args.get('dawn') ?? []);
  try {
    const maxBytes = one('max-bytes')
      ? parseBytes(one('max-bytes')!)
      : isSoftware(gpu.summary)
        ? 64 * 1024 ** 2
        : 64 * 1024 ** 3;
    const hashesPath = one('hashes') ?? 'tests/fixtures/native/hashes.json';
    const hashes = existsSync(join(repoRoot(), hashesPath)) ? repoJson<HashRecord>(hashesPath) : null;
    const report = await runNative(gpu.device, gpu.summary, {
      sizes,
      maxBytes,
      reps: Number(one('reps') ?? 5),
      only: one('only') ? new RegExp(one('only')!) : undefined,
      hashes,
      noDeterminism: args.has('no-determinism'),
      log: (l) => console.log(l),
    });
    const out = one('out') ?? (process.env.OUT ? join(process.env.OUT, 'report.json') : 'bench-native-report.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(report, null, 2));
    console.log(`report: ${out}`);
    const write = one('write-hashes');
    if (write && report.determinism) {
      writeFileSync(write, `${JSON.stringify(report.determinism.record, null, 2)}\n`);
      console.log(`hashes: ${write}`);
    }
    return Math.min(125, report.skipped + report.failed);
  } finally {
    gpu.release();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(126);
  },
);
