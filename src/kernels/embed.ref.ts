/** @file CPU twin of embed: out[r] = table[ids[idOffset + r]], a zero row for an id ≥ vocab. */
export function embedRef(args: {
  table: Float32Array;
  ids: Uint32Array;
  rows: number;
  dim: number;
  vocab: number;
  idOffset?: number;
}): Float32Array {
  const { table, ids, rows, dim, vocab } = args;
  const off = args.idOffset ?? 0;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const id = ids[off + r]!;
    if (id < vocab) out.set(table.subarray(id * dim, (id + 1) * dim), r * dim);
  }
  return out;
}
