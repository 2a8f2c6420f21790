/**
 * @file Side-by-side timing: implementations are run interleaved (the order rotates every round, so drift of the
 * machine hits all of them alike), after warm-up rounds, and summarised by the median. Each sample is the wall
 * time from submitting `iterations` calls to `queue.onSubmittedWorkDone()`, divided by `iterations`; the queue is
 * drained before each sample so no earlier work is counted.
 */
import type { Measurement } from './registry';

export interface Impl {
  name: string;
  /** Encodes and submits one call (may be async, e.g. an onnxruntime session run). */
  run(): void | Promise<void>;
  /** Called after each sample, outside the timed region (e.g. to release outputs). */
  cleanup?(): void | Promise<void>;
}

export interface MeasureOptions {
  warmup?: number;
  reps?: number;
  iterations?: number;
  /** Called after every sample, e.g. to print progress. */
  onSample?(impl: string, ms: number): void;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Times `impls` interleaved on `device`; returns one Measurement per implementation, in the given order. */
export async function measureInterleaved(
  device: GPUDevice,
  impls: Impl[],
  opts: MeasureOptions = {},
): Promise<Measurement[]> {
  const { warmup = 1, reps = 5, iterations = 1 } = opts;
  const samples = impls.map(() => [] as number[]);
  for (let round = 0; round < warmup + reps; round++) {
    for (let k = 0; k < impls.length; k++) {
      const idx = (k + round) % impls.length;
      const impl = impls[idx]!;
      await device.queue.onSubmittedWorkDone();
      const t0 = performance.now();
      for (let it = 0; it < iterations; it++) await impl.run();
      await device.queue.onSubmittedWorkDone();
      const ms = (performance.now() - t0) / iterations;
      await impl.cleanup?.();
      if (round >= warmup) {
        samples[idx]!.push(ms);
        opts.onSample?.(impl.name, ms);
      }
    }
  }
  return impls.map((impl, i) => ({
    impl: impl.name,
    medianMs: median(samples[i]!),
    minMs: Math.min(...samples[i]!),
    samplesMs: samples[i]!,
  }));
}

/** max |a − b| over two equally long arrays (NaN anywhere gives NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d;
  }
  return m;
}

/** xorshift32 uniforms in [−scale, scale); the same seed gives the same array everywhere (page and Node harness). */
export function randomF32(n: number, seed: number, scale = 1): Float32Array<ArrayBuffer> {
  let x = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 2 ** 31 - 1) * scale;
  }
  return out;
}
