/**
 * @file Where a piece of GPU work's time goes: its dispatches recorded instead of encoded, then each submitted and
 * awaited alone and the times summed per kernel (the label before ':'). Copies and clears the work encodes go to
 * the recording batch's encoder and are submitted once at the end, untimed.
 */
import { GpuBatch, type Workgroups } from '../gpu/batch';

/** A batch that records dispatches instead of encoding them, so each can be replayed and timed alone. */
export class RecordingBatch extends GpuBatch {
  readonly calls: { pipeline: GPUComputePipeline; buffers: GPUBuffer[]; groups: Workgroups; label: string }[] = [];
  override dispatch(
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    groups: Workgroups,
    label = pipeline.label,
  ): void {
    this.calls.push({ pipeline, buffers, groups, label });
  }
}

export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
}

/**
 * The dispatches `encode` records, each timed alone over `rounds` rounds (the first `warmup` not counted: pipeline
 * compiles), summed per kernel over the counted rounds and divided by their number, slowest first.
 */
export async function dispatchProfile(
  device: GPUDevice,
  encode: (batch: GpuBatch) => void,
  opts: { warmup?: number; rounds?: number } = {},
): Promise<{ dispatches: number; totalMs: number; kernels: KernelTime[] }> {
  const warmup = opts.warmup ?? 1;
  const rounds = opts.rounds ?? 1;
  const rec = new RecordingBatch(device, 'profile record');
  encode(rec);
  const per = new Map<string, KernelTime>();
  let total = 0;
  for (let round = 0; round < warmup + rounds; round++) {
    for (const c of rec.calls) {
      const b = new GpuBatch(device, 'profile replay');
      b.dispatch(c.pipeline, c.buffers, c.groups, c.label);
      await device.queue.onSubmittedWorkDone();
      const t = performance.now();
      b.submit();
      await device.queue.onSubmittedWorkDone();
      const ms = performance.now() - t;
      if (round < warmup) continue;
      const kernel = c.label.split(':')[0]!;
      const e = per.get(kernel) ?? { kernel, calls: 0, ms: 0 };
      per.set(kernel, { kernel, calls: e.calls + 1, ms: e.ms + ms });
      total += ms;
    }
  }
  rec.submit();
  const kernels = [...per.values()]
    .map((k) => ({ kernel: k.kernel, calls: k.calls / rounds, ms: k.ms / rounds }))
    .sort((a, b) => b.ms - a.ms);
  return { dispatches: rec.calls.length, totalMs: total / rounds, kernels };
}

/** "kernel n× t ms (p %)", slowest first. */
export function formatProfile(p: { totalMs: number; kernels: KernelTime[] }): string {
  return p.kernels
    .map((k) => `${k.kernel} ${k.calls}x ${k.ms.toFixed(0)} ms (${((100 * k.ms) / p.totalMs).toFixed(0)}%)`)
    .join(', ');
}
