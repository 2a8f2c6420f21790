/**
 * @file assemble_step: the painter's step sequence [B, 1 + N, D] (docs/formats.md "Connector + painter"): row 0
 * of each branch = the timestep embedding of the step (row `tembRow` of `temb`), rows 1 … N = embedded patches +
 * 2D position embedding, the same for every branch (both CFG branches see one latent).
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/assemble_step.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

/** Invocations per workgroup. */
const WG = 256;

export interface AssembleStepArgs {
  /** F32 [steps, D]: the timestep embedding of every step. */
  temb: GPUBuffer;
  /** The step's row of temb. */
  tembRow: number;
  /** F32 [N, D]: the embedded patches. */
  xEmb: GPUBuffer;
  /** F32 [N, D]: the 2D position embedding. */
  pos: GPUBuffer;
  /** F32 [B, 1 + N, D]. */
  out: GPUBuffer;
  /** Branches. */
  B: number;
  /** Patches. */
  N: number;
  /** Hidden size. */
  D: number;
}

/** Encodes assemble_step into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function assembleStep(batch: GpuBatch, args: AssembleStepArgs): void {
  const k = 'assemble_step';
  const { temb, tembRow, xEmb, pos, out, B, N, D } = args;
  needCount(k, 'B', B);
  needCount(k, 'N', N);
  needCount(k, 'D', D);
  needCount(k, 'tembRow', tembRow, true);
  const total = B * (N + 1) * D;
  needBytes(k, 'temb', temb, (tembRow + 1) * D * 4);
  needBytes(k, 'xEmb', xEmb, N * D * 4);
  needBytes(k, 'pos', pos, N * D * 4);
  needBytes(k, 'out', out, total * 4);
  need(k, out !== temb && out !== xEmb && out !== pos, 'out must not alias an input');
  const { groups, stride } = flatGroups(total, WG);
  const u = batch.uniform(new Uint32Array([B, N, D, tembRow * D, total, stride]));
  batch.dispatch(batch.pipeline('assemble_step', code, { WG }), [temb, xEmb, pos, out, u], groups);
}
