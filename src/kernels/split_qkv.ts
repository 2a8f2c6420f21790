/**
 * @file split_qkv: fused qkv rows [rows, (H + 2KV)·D] (the fused qkv projection, RoPE already applied in place by
 * rope) into q [rows, H, D], k and v [rows, KV, D], the attention kernel's layouts. Used by the decoder layer
 * (src/models/layers/decoder_layer.ts), where k and v may be rows `kvRow`… of a K/V cache (a prompt, or one chunk of
 * it, into the reasoner's cache).
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/split_qkv.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

/** Invocations per workgroup. */
const WG = 256;

export interface SplitQkvArgs {
  /** F32 [rows, (H + 2KV)·D]. */
  qkv: GPUBuffer;
  /** F32 [rows, H, D]. */
  q: GPUBuffer;
  /** F32 [rows, KV, D]. */
  k: GPUBuffer;
  /** F32 [rows, KV, D]. */
  v: GPUBuffer;
  rows: number;
  /** Query heads. */
  H: number;
  /** Key/value heads. */
  KV: number;
  /** Head dimension. */
  D: number;
  /** First row of k and v written (rows kvRow … kvRow + rows − 1; q always from row 0). Default 0. */
  kvRow?: number;
}

/** Encodes split_qkv into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function splitQkv(batch: GpuBatch, args: SplitQkvArgs): void {
  const k = 'split_qkv';
  const { rows, H, KV, D } = args;
  const kvRow = args.kvRow ?? 0;
  needCount(k, 'rows', rows);
  needCount(k, 'kvRow', kvRow, true);
  needCount(k, 'H', H);
  needCount(k, 'KV', KV);
  needCount(k, 'D', D);
  const total = rows * (H + 2 * KV) * D;
  needBytes(k, 'qkv', args.qkv, total * 4);
  needBytes(k, 'q', args.q, rows * H * D * 4);
  needBytes(k, 'k', args.k, (kvRow + rows) * KV * D * 4);
  needBytes(k, 'v', args.v, (kvRow + rows) * KV * D * 4);
  const outs = [args.q, args.k, args.v];
  need(k, !outs.includes(args.qkv), 'q, k and v must not alias qkv');
  need(k, new Set(outs).size === 3, 'q, k and v must be three different buffers');
  const { groups, stride } = flatGroups(total, WG);
  const u = batch.uniform(new Uint32Array([H, KV, D, total, stride, kvRow]));
  batch.dispatch(batch.pipeline('split_qkv', code, { WG }), [args.qkv, args.q, args.k, args.v, u], groups);
}
