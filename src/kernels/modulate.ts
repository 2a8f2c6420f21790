/**
 * @file modulate: adaLN modulation in place (x ← x·(1 + scale) + shift, tools/rgvlm/model.py `FinalLayer`) and its
 * gated-residual companion `modulateGate` (residual ← residual + gate·x), with per-batch-item vectors that may be
 * slices of one packed adaLN output.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/modulate.wgsl?raw';
import gateCode from '../../shaders/modulate_gate.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

interface Layout {
  /** Rows of x: batch items × rowsPerItem. */
  rows: number;
  dim: number;
  /** Rows sharing one modulation vector (tokens per image). Default `rows` (one item). */
  rowsPerItem?: number;
  /** Floats between the vectors of consecutive items in the modulation buffer(s). Default `dim`. */
  modStride?: number;
}

export interface ModulateArgs extends Layout {
  /** f32 [rows, dim], modulated in place. */
  x: GPUBuffer;
  shift: GPUBuffer;
  scale: GPUBuffer;
  /** First float of item 0's shift vector. Default 0. */
  shiftOffset?: number;
  /** First float of item 0's scale vector. Default 0 (use `dim` for a packed [shift | scale] buffer). */
  scaleOffset?: number;
}

export interface ModulateGateArgs extends Layout {
  /** f32 [rows, dim], updated in place: residual + gate·x. */
  residual: GPUBuffer;
  gate: GPUBuffer;
  /** f32 [rows, dim]: the block output. */
  x: GPUBuffer;
  /** First float of item 0's gate vector. Default 0. */
  gateOffset?: number;
}

/** Validates the layout and returns [items, rowsPerItem, modStride]. */
function layout(kernel: string, a: Layout): [number, number, number] {
  const rowsPerItem = a.rowsPerItem ?? a.rows;
  const modStride = a.modStride ?? a.dim;
  needCount(kernel, 'rows', a.rows);
  needCount(kernel, 'dim', a.dim);
  needCount(kernel, 'rowsPerItem', rowsPerItem);
  needCount(kernel, 'modStride', modStride);
  need(kernel, a.rows % rowsPerItem === 0, `rows ${a.rows} is not a multiple of rowsPerItem ${rowsPerItem}`);
  return [a.rows / rowsPerItem, rowsPerItem, modStride];
}

/** Bytes a modulation buffer needs for `items` vectors of `dim` from `offset`, `stride` apart. */
const modBytes = (items: number, dim: number, offset: number, stride: number) =>
  (offset + (items - 1) * stride + dim) * 4;

/** Encodes x ← x·(1 + scale) + shift into `batch`. */
export function modulate(batch: GpuBatch, args: ModulateArgs): void {
  const [items, rowsPerItem, modStride] = layout('modulate', args);
  const shiftOffset = args.shiftOffset ?? 0;
  const scaleOffset = args.scaleOffset ?? 0;
  needCount('modulate', 'shiftOffset', shiftOffset, true);
  needCount('modulate', 'scaleOffset', scaleOffset, true);
  needBytes('modulate', 'x', args.x, args.rows * args.dim * 4);
  needBytes('modulate', 'shift', args.shift, modBytes(items, args.dim, shiftOffset, modStride));
  needBytes('modulate', 'scale', args.scale, modBytes(items, args.dim, scaleOffset, modStride));
  const total = args.rows * args.dim;
  const { groups, stride } = flatGroups(total, 256);
  const u = new Uint32Array([total, stride, args.dim, rowsPerItem, shiftOffset, scaleOffset, modStride]);
  batch.dispatch(batch.pipeline('modulate', code), [args.x, args.shift, args.scale, batch.uniform(u)], groups);
}

/** Encodes residual ← residual + gate·x into `batch`. */
export function modulateGate(batch: GpuBatch, args: ModulateGateArgs): void {
  const [items, rowsPerItem, modStride] = layout('modulate_gate', args);
  const gateOffset = args.gateOffset ?? 0;
  needCount('modulate_gate', 'gateOffset', gateOffset, true);
  need('modulate_gate', args.residual !== args.x, 'residual and x must be different buffers');
  needBytes('modulate_gate', 'residual', args.residual, args.rows * args.dim * 4);
  needBytes('modulate_gate', 'x', args.x, args.rows * args.dim * 4);
  needBytes('modulate_gate', 'gate', args.gate, modBytes(items, args.dim, gateOffset, modStride));
  const total = args.rows * args.dim;
  const { groups, stride } = flatGroups(total, 256);
  const u = new Uint32Array([total, stride, args.dim, rowsPerItem, gateOffset, modStride]);
  batch.dispatch(
    batch.pipeline('modulate_gate', gateCode),
    [args.residual, args.gate, args.x, batch.uniform(u)],
    groups,
  );
}
