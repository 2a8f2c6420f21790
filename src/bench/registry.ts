/**
 * @file The benchmark registry: every benchmark `npm run bench` runs, in order. To add one, write a module that
 * exports a `Bench` (see src/bench/attention.ts) and list it in `BENCHES`.
 *
 * A benchmark measures implementations side by side in one run on one adapter (interleaved, warmed up, median of
 * N — see src/bench/measure.ts) and reports each case as ratios to a baseline implementation; absolute times on
 * software WebGPU mean little, ratios between two implementations measured together do.
 */
import { attentionBench } from './attention';
import { storeBench } from './store';
import { painterBench } from './painter';
import { painterRealBench, painterReal2Bench } from './painter_real';
import { reasonerBench } from './reasoner';
import { realDimsBench, realShapeFullBench } from './real_shape';
import { qwen2Int4Bench, qwen2Int4WideBench } from './qwen2';
import { decodeMatmulBench, painterMatmulBench } from './decode_matmul';
import { vaeBench } from './vae';

/** One implementation's timings for one case. */
export interface Measurement {
  impl: string;
  /** Median wall time of one call, in milliseconds. */
  medianMs: number;
  minMs: number;
  samplesMs: number[];
}

/** One case of a benchmark: the sizes, the measured implementations and anything checked on the way. */
export interface CaseResult {
  name: string;
  /** The sizes, in words, e.g. "B 1, Sq 256, Sk 256, Hq 4, Hkv 4, D 64, full mask". */
  sizes: string;
  /** The implementation the ratios are relative to. */
  baseline: string;
  measurements: Measurement[];
  /** Checks and remarks printed under the case (e.g. max abs differences between the outputs). */
  notes: string[];
}

/** What a running benchmark reports through. */
export interface BenchReport {
  /** A progress or information line, printed as it comes. */
  log(line: string): void;
  /** A finished case. */
  result(c: CaseResult): void;
}

export interface BenchContext {
  device: GPUDevice;
  /** Samples per implementation (after warm-up); `?reps=` / `--reps` overrides the bench's own choice. */
  reps?: number;
}

export interface Bench {
  /** Short identifier, matched by `--filter`. */
  name: string;
  /**
   * Runs only when `--filter` names it: a case too slow for the default `npm run bench` on a software adapter
   * (real-shape sizes take tens of minutes to hours on SwiftShader).
   */
  optIn?: boolean;
  /** What is compared, on which sizes. */
  description: string;
  run(report: BenchReport, ctx: BenchContext): Promise<void>;
}

export const BENCHES: Bench[] = [
  attentionBench,
  storeBench,
  painterBench,
  vaeBench,
  reasonerBench,
  realShapeFullBench,
  realDimsBench,
  qwen2Int4Bench,
  qwen2Int4WideBench,
  decodeMatmulBench,
  painterMatmulBench,
  painterRealBench,
  painterReal2Bench,
];
