/** @file CPU twin of assemble_step: [temb row][patches + positions] per branch. */
export function assembleStepRef(args: {
  temb: Float32Array;
  tembRow: number;
  xEmb: Float32Array;
  pos: Float32Array;
  B: number;
  N: number;
  D: number;
}): Float32Array {
  const { temb, tembRow, xEmb, pos, B, N, D } = args;
  const out = new Float32Array(B * (N + 1) * D);
  for (let b = 0; b < B; b++) {
    const base = b * (N + 1) * D;
    out.set(temb.subarray(tembRow * D, (tembRow + 1) * D), base);
    for (let i = 0; i < N * D; i++) out[base + D + i] = xEmb[i]! + pos[i]!;
  }
  return out;
}
