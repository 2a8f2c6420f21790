/**
 * @file What a native case is (name, sizes, what it needs from the adapter, how it runs) and how it is timed: wall
 * time from the first submit to `queue.onSubmittedWorkDone()`, the queue drained before each sample, `iterations`
 * calls per sample (chosen so a sample lasts about 20 ms), the median of `reps` samples after one warm-up.
 */
import { median } from '../measure';

export type Preset = 'tiny' | 'real';
export type Group = 'matmul' | 'attention' | 'reasoner' | 'painter' | 'determinism';

export interface CaseContext {
  device: GPUDevice;
  reps: number;
  /** Compare outputs with the CPU twins / fixtures (tiny sizes). */
  check: boolean;
}

export interface CaseCheck {
  ok: boolean;
  detail: string;
}

export interface CaseOutput {
  /** Median milliseconds of one call (0 for cases that only check). */
  ms: number;
  /** Bytes one call must move at least (weights, activations, caches read and written). */
  bytes: number;
  /** Floating-point operations of one call (a multiply-add counts 2). */
  flops: number;
  /** Which peak the FLOP/s is compared with. */
  peak: 'fp16' | 'fp32' | 'none';
  notes: string[];
  checks: CaseCheck[];
  /** Extra data for the JSON report (e.g. hashes). */
  data?: unknown;
}

export interface BenchCase {
  name: string;
  group: Group;
  preset: Preset;
  /** Human-readable shape. */
  sizes: string;
  /** Features the case needs (skipped without them). */
  needs?: GPUFeatureName[];
  /** GPU memory the case allocates, bytes (compared with --max-bytes). */
  memoryBytes: number;
  /** Its largest single buffer (compared with the adapter's maxBufferSize / maxStorageBufferBindingSize). */
  largestBuffer: number;
  /** A reason to skip decided from the device (e.g. an unsupported head size), or null. */
  unsupported?(device: GPUDevice): string | null;
  run(ctx: CaseContext): Promise<CaseOutput>;
}

/**
 * Times `call` (which encodes and submits one unit of work): one warm-up sample, then `reps` samples of
 * `iterations` calls each; returns the median per call, in milliseconds, and the iterations used.
 */
export async function timeCalls(
  device: GPUDevice,
  call: () => void | Promise<void>,
  reps: number,
): Promise<{ ms: number; iterations: number }> {
  const sample = async (iterations: number) => {
    await device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) await call();
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / iterations;
  };
  const first = await sample(1);
  const iterations = Math.max(1, Math.min(50, Math.round(20 / Math.max(first, 1e-3))));
  const samples: number[] = [];
  for (let r = 0; r < Math.max(1, reps); r++) samples.push(await sample(iterations));
  return { ms: median(samples), iterations };
}

/** A check within `tol`: "name: max |Δ| 1.2e-6 ≤ 1e-4". */
export function within(name: string, diff: number, tol: number): CaseCheck {
  return {
    ok: diff <= tol,
    detail: `${name}: max |Δ| ${diff.toExponential(2)} ${diff <= tol ? '≤' : '>'} ${tol.toExponential(0)}`,
  };
}
