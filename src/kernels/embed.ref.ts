/**
 * @file CPU twin of embed: out[r] = table[ids[idOffset + r]], a zero row for an id ≥ vocab. The table is F32 or a
 * weight of any matmul format (dequantised as the kernel does: q · s in f32).
 */
import { dequantizeWeight, type LinearWeightData } from './matmul.ref';

export function embedRef(args: {
  table: Float32Array | LinearWeightData;
  ids: Uint32Array;
  rows: number;
  dim: number;
  vocab: number;
  idOffset?: number;
}): Float32Array {
  const { ids, rows, dim, vocab } = args;
  const table = args.table instanceof Float32Array ? args.table : dequantizeWeight(args.table);
  if (table.length !== vocab * dim) throw new RangeError(`embedRef: the table is not [${vocab}, ${dim}]`);
  const off = args.idOffset ?? 0;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const id = ids[off + r]!;
    if (id < vocab) out.set(table.subarray(id * dim, (id + 1) * dim), r * dim);
  }
  return out;
}
