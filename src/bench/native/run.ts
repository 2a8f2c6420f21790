/**
 * @file The native harness: the case list (tiny sizes checked against the CPU twins; real model shapes measured
 * against the adapter's roofline), the skip rules of issue 19's "Bad input" (a missing feature, a head size the
 * kernels lack, a buffer over the adapter's limits, memory over `maxBytes`: skipped with the reason printed, the
 * rest run) and the report: per case time, achieved bandwidth and FLOP/s and their share of the roofline, plus the
 * determinism record compared with the committed SwiftShader hashes.
 */
import type { BenchCase, CaseCheck, Preset } from './case';
import { compareHashes, hashRecord, type HashRecord } from './determinism';
import type { AdapterSummary } from './device';
import { attentionCase, matmulCase } from './kernel_cases';
import { OMNIGEN, OMNIGEN_H128, painterStepCase, TINY_PAINTER } from './painter_cases';
import { QWEN2_SHAPES, qwen2Case, TINY_DECODER, tinyReasonerCase } from './reasoner_cases';
import { rooflineFor, share, type Roofline } from './roofline';

/** Every case, tiny and real. */
export function allCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  // Tiny: checked against the CPU twins.
  for (const f of ['f32', 'f16', 'int8', 'int4'] as const) cases.push(matmulCase('tiny', 64, 256, 128, f, 'f32'));
  cases.push(matmulCase('tiny', 64, 256, 128, 'f16', 'f16'));
  cases.push(matmulCase('tiny', 1, 256, 256, 'int4', 'f32'));
  const tinyAttn = { headsQ: 4, headsKV: 2, headDim: 32 };
  for (const kind of ['flash', 'naive'] as const) {
    cases.push(attentionCase('tiny', kind, { seqQ: 64, cache: 0, ...tinyAttn }));
    cases.push(attentionCase('tiny', kind, { seqQ: 1, cache: 64, ...tinyAttn }));
  }
  cases.push(tinyReasonerCase('decode'), tinyReasonerCase('prefill'));
  cases.push(qwen2Case(TINY_DECODER, 'decode', 32, 'tiny'), qwen2Case(TINY_DECODER, 'prefill', 32, 'tiny'));
  cases.push(painterStepCase(TINY_PAINTER, 16, 'tiny'));
  // Real shapes: matmul against the peaks (painter-sized tiles, decode-sized GEMV).
  cases.push(matmulCase('real', 4096, 3072, 3072, 'f32', 'f32'));
  cases.push(matmulCase('real', 4096, 3072, 3072, 'f16', 'f32'));
  cases.push(matmulCase('real', 4096, 3072, 3072, 'f16', 'f16'));
  cases.push(matmulCase('real', 4096, 3072, 3072, 'int4', 'f32'));
  cases.push(matmulCase('real', 1, 3584, 37888, 'int4', 'f32'));
  cases.push(matmulCase('real', 1, 3584, 37888, 'f16', 'f32'));
  const big = { headsQ: 28, headsKV: 4, headDim: 128 };
  for (const kind of ['flash', 'naive'] as const) {
    cases.push(attentionCase('real', kind, { seqQ: 4096, cache: 0, ...big }));
    cases.push(attentionCase('real', kind, { seqQ: 1, cache: 4096, ...big }));
  }
  for (const s of QWEN2_SHAPES) cases.push(qwen2Case(s, 'decode', 1024));
  for (const s of QWEN2_SHAPES) cases.push(qwen2Case(s, 'prefill', 512));
  // Storage side by side at the 0.5B shape: f16 and f32 matrices against the int4 cases above.
  for (const w of ['f16', 'f32'] as const) {
    cases.push(qwen2Case(QWEN2_SHAPES[0]!, 'decode', 1024, 'real', w));
    cases.push(qwen2Case(QWEN2_SHAPES[0]!, 'prefill', 512, 'real', w));
  }
  for (const s of [OMNIGEN, OMNIGEN_H128]) for (const t of [1024, 4096]) cases.push(painterStepCase(s, t));
  return cases;
}

export interface RunOptions {
  sizes: Preset | 'all';
  /** Skip cases allocating more than this many bytes. */
  maxBytes: number;
  reps: number;
  /** Only the cases whose name matches. */
  only?: RegExp;
  /** The committed record to compare the determinism hashes with (null: none). */
  hashes: HashRecord | null;
  /** Skip the determinism record. */
  noDeterminism?: boolean;
  log(line: string): void;
}

export interface CaseReport {
  name: string;
  group: string;
  preset: Preset;
  sizes: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  ms?: number;
  bytes?: number;
  flops?: number;
  bandwidthGBs?: number;
  gflops?: number;
  bandwidthShare?: string;
  peakShare?: string;
  peak?: string;
  notes?: string[];
  checks?: CaseCheck[];
}

export interface NativeReport {
  adapter: AdapterSummary;
  roofline: Roofline | null;
  options: { sizes: string; maxBytes: number; reps: number; only?: string };
  cases: CaseReport[];
  determinism?: {
    record: HashRecord;
    wordsMatchCpu: boolean;
    comparedWith: string | null;
    same: boolean | null;
    lines: string[];
  };
  skipped: number;
  failed: number;
}

const MiB = 1 << 20;

/** Why `c` cannot run on `device` under `o`, or null. */
function skipReason(c: BenchCase, device: GPUDevice, o: RunOptions): string | null {
  for (const f of c.needs ?? []) if (!device.features.has(f)) return `the adapter has no ${f}`;
  const u = c.unsupported?.(device);
  if (u) return u;
  const limit = Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize);
  const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
  if (c.largestBuffer > limit) {
    return `a ${mib(c.largestBuffer)} buffer exceeds the adapter's binding limit (${mib(limit)})`;
  }
  if (c.memoryBytes > o.maxBytes) return `needs ${mib(c.memoryBytes)}, over --max-bytes ${mib(o.maxBytes)}`;
  return null;
}

/** Runs the selected cases on `device` and returns the report (also logged line by line). */
export async function runNative(device: GPUDevice, adapter: AdapterSummary, o: RunOptions): Promise<NativeReport> {
  const roof = rooflineFor(adapter);
  const log = o.log;
  log(
    `adapter: ${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description}`
      .replace(/\s+/g, ' ')
      .trim(),
  );
  log(`features: ${adapter.features.join(', ') || '(none)'}`);
  log(
    roof
      ? `roofline: ${roof.name}: ${roof.bandwidth / 1e12} TB/s, fp16 tensor ${roof.fp16Tensor / 1e12} TFLOP/s, ` +
          `fp32 ${roof.fp32 / 1e12} TFLOP/s (${roof.source})`
      : 'roofline: n/a (software adapter or a GPU not in the table: only ratios between cases mean anything)',
  );
  const report: NativeReport = {
    adapter,
    roofline: roof,
    options: { sizes: o.sizes, maxBytes: o.maxBytes, reps: o.reps, only: o.only?.source },
    cases: [],
    skipped: 0,
    failed: 0,
  };
  const selected = allCases().filter(
    (c) => (o.sizes === 'all' || c.preset === o.sizes) && (!o.only || o.only.test(c.name)),
  );
  for (const c of selected) {
    const base = { name: c.name, group: c.group, preset: c.preset, sizes: c.sizes };
    const reason = skipReason(c, device, o);
    if (reason) {
      report.skipped++;
      report.cases.push({ ...base, status: 'skipped', reason });
      log(`SKIP ${c.name}: ${reason}`);
      continue;
    }
    try {
      const out = await c.run({ device, reps: o.reps, check: c.preset === 'tiny' });
      const s = out.ms / 1000;
      const bw = out.bytes / s;
      const fl = out.flops / s;
      const peak = out.peak === 'fp16' ? roof?.fp16Tensor : out.peak === 'fp32' ? roof?.fp32 : null;
      const failed = out.checks.some((k) => !k.ok);
      if (failed) report.failed++;
      const r: CaseReport = {
        ...base,
        status: failed ? 'failed' : 'ok',
        ms: out.ms,
        bytes: out.bytes,
        flops: out.flops,
        bandwidthGBs: bw / 1e9,
        gflops: fl / 1e9,
        bandwidthShare: share(bw, roof?.bandwidth),
        peakShare: share(fl, peak),
        peak: out.peak,
        notes: out.notes,
        checks: out.checks,
      };
      report.cases.push(r);
      log(
        `${failed ? 'FAIL' : 'ok  '} ${c.name}: ${out.ms.toFixed(3)} ms, ` +
          `${(bw / 1e9).toFixed(2)} GB/s (${r.bandwidthShare} of bandwidth), ` +
          `${(fl / 1e9).toFixed(2)} GFLOP/s (${r.peakShare} of ${out.peak} peak)` +
          (out.notes.length ? `; ${out.notes.join('; ')}` : ''),
      );
      for (const k of out.checks) log(`     ${k.ok ? 'check ok' : 'CHECK FAILED'}: ${k.detail}`);
    } catch (e) {
      report.failed++;
      const msg = e instanceof Error ? e.message : String(e);
      report.cases.push({ ...base, status: 'failed', reason: msg });
      log(`FAIL ${c.name}: ${msg}`);
    }
  }
  if (!o.noDeterminism) {
    const desc = `${adapter.vendor} ${adapter.device} ${adapter.description}`.replace(/\s+/g, ' ').trim();
    const { record, wordsMatchCpu } = await hashRecord(device, desc);
    log(`determinism: noise words ${wordsMatchCpu ? 'equal' : 'DIFFER from'} the CPU twin (Philox)`);
    if (!wordsMatchCpu) report.failed++;
    let cmp: { same: boolean; lines: string[] } | null = null;
    if (o.hashes) {
      cmp = compareHashes(record, o.hashes);
      log(`determinism vs the committed record (${o.hashes.adapter}): ${cmp.same ? 'identical' : 'differs'}`);
      for (const l of cmp.lines) log(`  ${l}`);
    }
    report.determinism = {
      record,
      wordsMatchCpu,
      comparedWith: o.hashes?.adapter ?? null,
      same: cmp?.same ?? null,
      lines: cmp?.lines ?? [],
    };
  }
  log(`${report.cases.length - report.skipped - report.failed} ok, ${report.skipped} skipped, ${report.failed} failed`);
  return report;
}
