/** @file CPU twins of modulate and modulateGate, one f32 rounding per operation in the kernels' order. */

export interface ModulateRefLayout {
  rows: number;
  dim: number;
  rowsPerItem?: number;
  modStride?: number;
}

function vectorIndex(a: ModulateRefLayout, i: number, offset: number): number {
  return offset + Math.floor(i / a.dim / (a.rowsPerItem ?? a.rows)) * (a.modStride ?? a.dim) + (i % a.dim);
}

/** x·(1 + scale) + shift (a new array). */
export function modulateRef(
  x: Float32Array,
  shift: Float32Array,
  scale: Float32Array,
  a: ModulateRefLayout & { shiftOffset?: number; scaleOffset?: number },
): Float32Array {
  const f = Math.fround;
  return x.map((v, i) =>
    f(f(v * f(1 + scale[vectorIndex(a, i, a.scaleOffset ?? 0)]!)) + shift[vectorIndex(a, i, a.shiftOffset ?? 0)]!),
  );
}

/** residual + gate·x (a new array). */
export function modulateGateRef(
  residual: Float32Array,
  gate: Float32Array,
  x: Float32Array,
  a: ModulateRefLayout & { gateOffset?: number },
): Float32Array {
  const f = Math.fround;
  return residual.map((r, i) => f(r + f(gate[vectorIndex(a, i, a.gateOffset ?? 0)]! * x[i]!)));
}
