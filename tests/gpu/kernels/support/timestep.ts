/**
 * @file timestep: the painter's sinusoidal timestep embedding of a batch of t ∈ [0, 1], [batch, dim] in [cos, sin]
 * order, of t · scale. Mirrors tools/rgvlm/model.py `timestep_embedding` as called by `TimestepEmbedder.forward`.
 *
 * Test support only: the painter computes these features on the CPU (src/models/painter/tables.ts, its twin); this
 * kernel checks the shared WGSL trig (shaders/trig.wgsl) against them.
 */
import type { GpuBatch } from '../../../../src/gpu/batch';
import trig from '../../../../shaders/trig.wgsl?raw';
import body from './timestep.wgsl?raw';
import { need, needBytes, needCount } from '../../../../src/kernels/dispatch';

const code = `${trig}\n${body}`;

export interface TimestepArgs {
  /** f32 [batch]: t (unscaled). */
  t: GPUBuffer;
  /** f32 [batch, dim]. */
  out: GPUBuffer;
  batch: number;
  /** Painter config `timestep_freq_dim` (256), even. */
  dim: number;
  /** Painter config `timestep_scale` (1000). */
  scale: number;
  /** Painter config `timestep_max_period` (10000). */
  maxPeriod: number;
}

/** freq_k = exp(−ln(maxPeriod) · k / half) for k < half = dim/2, in PyTorch's f32 steps. */
export function timestepFreqs(dim: number, maxPeriod: number): Float32Array<ArrayBuffer> {
  const half = dim / 2;
  const c = Math.fround(-Math.log(maxPeriod));
  const out = new Float32Array(half);
  for (let k = 0; k < half; k++) out[k] = Math.exp(Math.fround(Math.fround(c * k) / half));
  return out;
}

/** Encodes the timestep embedding into `batch`. */
export function timestep(batch: GpuBatch, args: TimestepArgs): void {
  needCount('timestep', 'batch', args.batch);
  needCount('timestep', 'dim', args.dim);
  need('timestep', args.dim % 2 === 0, `dim must be even, got ${args.dim}`);
  need('timestep', Number.isFinite(args.scale), `scale must be finite, got ${args.scale}`);
  need(
    'timestep',
    args.maxPeriod > 0 && Number.isFinite(args.maxPeriod),
    `maxPeriod must be a positive number, got ${args.maxPeriod}`,
  );
  needBytes('timestep', 't', args.t, args.batch * 4);
  needBytes('timestep', 'out', args.out, args.batch * args.dim * 4);
  const half = args.dim / 2;
  const freq = batch.scratch(half * 4, 'timestep freq');
  batch.device.queue.writeBuffer(freq, 0, timestepFreqs(args.dim, args.maxPeriod));
  const total = args.batch * args.dim;
  const u = new ArrayBuffer(12);
  new Uint32Array(u, 0, 2).set([total, half]);
  new Float32Array(u, 8, 1)[0] = args.scale;
  need('timestep', Math.ceil(total / 256) <= 65535, `batch ${args.batch} x dim ${args.dim} is too large`);
  batch.dispatch(
    batch.pipeline('timestep', code),
    [args.t, freq, args.out, batch.uniform(u)],
    [Math.ceil(total / 256)],
  );
}
