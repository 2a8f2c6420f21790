/**
 * @file denoise: the fused classifier-free-guidance combine and rectified-flow Euler step, in place on the latents
 * (v = v_u + g·(v_c − v_u); z ← z + dt·v). Mirrors the loop body of tools/rgvlm/pipeline.py `sample`; `sigmas`
 * mirrors its `sigmas`.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/denoise.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

export interface DenoiseArgs {
  /** f32 latents [n], updated in place. */
  z: GPUBuffer;
  n: number;
  /** σ_next − σ (see `eulerDt`). */
  dt: number;
  /**
   * Guidance scale g. With it, the velocities come either as `velocity` [2, n] (conditional branch first, then
   * unconditional) or as `vCond` and `vUncond` [n]. Without it, `velocity` [n] is used as is (no CFG).
   */
  guidance?: number;
  velocity?: GPUBuffer;
  vCond?: GPUBuffer;
  vUncond?: GPUBuffer;
}

/** Encodes one Euler step into `batch`. */
export function denoise(batch: GpuBatch, args: DenoiseArgs): void {
  const { n, velocity, vCond, vUncond, guidance } = args;
  needCount('denoise', 'n', n);
  need('denoise', Number.isFinite(args.dt), `dt must be finite, got ${args.dt}`);
  need('denoise', guidance === undefined || Number.isFinite(guidance), `guidance must be finite, got ${guidance}`);
  const split = vCond !== undefined || vUncond !== undefined;
  need(
    'denoise',
    split ? velocity === undefined && vCond !== undefined && vUncond !== undefined : velocity !== undefined,
    'pass either velocity or both vCond and vUncond',
  );
  need('denoise', !split || guidance !== undefined, 'vCond and vUncond need a guidance scale');
  needBytes('denoise', 'z', args.z, n * 4);
  let bufs: [GPUBuffer, GPUBuffer];
  let uOffset = 0;
  if (split) {
    needBytes('denoise', 'vCond', vCond!, n * 4);
    needBytes('denoise', 'vUncond', vUncond!, n * 4);
    bufs = [vCond!, vUncond!];
  } else {
    const cfg = guidance !== undefined;
    needBytes('denoise', 'velocity', velocity!, (cfg ? 2 : 1) * n * 4);
    bufs = [velocity!, velocity!];
    uOffset = cfg ? n : 0;
  }
  const cfg = guidance !== undefined;
  const { groups, stride } = flatGroups(n, 256);
  const u = new ArrayBuffer(20);
  new Uint32Array(u, 0, 3).set([n, stride, uOffset]);
  new Float32Array(u, 12, 2).set([guidance ?? 0, args.dt]);
  const pipeline = batch.pipeline(cfg ? 'denoise:cfg' : 'denoise:plain', code, { CFG: cfg ? 1 : 0 });
  batch.dispatch(pipeline, [args.z, ...bufs, batch.uniform(u)], groups);
}

/** σ_i = t0 + (1 − t0)·i / steps for i = 0 … steps, computed in float64 and rounded to f32 (pipeline.py `sigmas`). */
export function sigmas(t0: number, steps: number): Float32Array {
  return Float32Array.from({ length: steps + 1 }, (_, i) => t0 + ((1 - t0) * i) / steps);
}

/** The f32 step σ[i + 1] − σ[i]. */
export function eulerDt(s: Float32Array, i: number): number {
  return Math.fround(s[i + 1]! - s[i]!);
}
