/**
 * @file The weight quantiser of docs/formats.md in TypeScript: int8 per output channel and int4 block-32, symmetric,
 * bit-identical to tools/rgvlm/safetensors_io.py (f32 arithmetic, numpy's round-half-to-even), plus the matching
 * dequantisers and f32 ↔ f16 / bf16 bit conversion for f16 and bf16 weights. Weights are row-major
 * [rows = out, cols = in].
 */

/** Rounds to the nearest integer, ties to even (numpy.round / torch.round). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  // Math.round sends ties up; a tie that lands on an odd integer belongs one lower.
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function checkShape(fn: string, length: number, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(`${fn}: rows and cols must be positive integers, got ${rows} × ${cols}`);
  }
  if (length !== rows * cols) throw new RangeError(`${fn}: ${length} elements is not ${rows} × ${cols}`);
}

/** int8 per output row: s = max|w_row| / 127 (1 for an all-zero row), q = clamp(round(w / s), ±127). */
export function quantizeInt8(w: Float32Array, rows: number, cols: number): { q: Int8Array; scale: Float32Array } {
  checkShape('quantizeInt8', w.length, rows, cols);
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = w.subarray(r * cols, (r + 1) * cols);
    let m = 0;
    for (const v of row) m = Math.max(m, Math.abs(v));
    const s = m > 0 ? Math.fround(m / 127) : 1;
    scale[r] = s;
    for (let c = 0; c < cols; c++)
      q[r * cols + c] = Math.min(127, Math.max(-127, roundHalfEven(Math.fround(row[c]! / s))));
  }
  return { q, scale };
}

/** w = q · s as f32, [rows, cols]. */
export function dequantizeInt8(q: Int8Array, scale: Float32Array, rows: number, cols: number): Float32Array {
  checkShape('dequantizeInt8', q.length, rows, cols);
  if (scale.length !== rows) throw new RangeError(`dequantizeInt8: ${scale.length} scales for ${rows} rows`);
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = q[i]! * scale[Math.floor(i / cols)]!;
  return w;
}

/**
 * int4 block-32 along a row: s = max|w_block| / 7 (1 for an all-zero block), q = clamp(round(w / s), -8, 7), stored
 * as the nibble q + 8, element 2j in the low nibble of byte j. Returns q [rows, cols / 2] and scale [rows, cols / 32].
 */
export function quantizeInt4(w: Float32Array, rows: number, cols: number): { q: Uint8Array; scale: Float32Array } {
  checkShape('quantizeInt4', w.length, rows, cols);
  if (cols % 32 !== 0) throw new RangeError(`quantizeInt4: cols must be a multiple of 32, got ${cols}`);
  const q = new Uint8Array((rows * cols) / 2);
  const scale = new Float32Array((rows * cols) / 32);
  for (let b = 0; b < scale.length; b++) {
    const block = w.subarray(b * 32, b * 32 + 32);
    let m = 0;
    for (const v of block) m = Math.max(m, Math.abs(v));
    const s = m > 0 ? Math.fround(m / 7) : 1;
    scale[b] = s;
    for (let e = 0; e < 32; e++) {
      const nib = Math.min(7, Math.max(-8, roundHalfEven(Math.fround(block[e]! / s)))) + 8;
      q[b * 16 + (e >> 1)] |= e & 1 ? nib << 4 : nib;
    }
  }
  return { q, scale };
}

/** w = (nibble − 8) · s as f32, [rows, cols]. */
export function dequantizeInt4(q: Uint8Array, scale: Float32Array, rows: number, cols: number): Float32Array {
  checkShape('dequantizeInt4', q.length * 2, rows, cols);
  if (cols % 32 !== 0) throw new RangeError(`dequantizeInt4: cols must be a multiple of 32, got ${cols}`);
  if (scale.length !== (rows * cols) / 32)
    throw new RangeError(`dequantizeInt4: ${scale.length} scales for ${rows} × ${cols / 32} blocks`);
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) {
    const byte = q[i >> 1]!;
    w[i] = ((i & 1 ? byte >> 4 : byte & 0xf) - 8) * scale[i >> 5]!;
  }
  return w;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The IEEE binary16 bits of `v`, rounded to nearest, ties to even (overflow → ±Inf, NaN stays NaN). */
export function f16Bits(v: number): number {
  f32[0] = v;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    const m = man | 0x800000; // implicit 1
    const shift = 14 - e; // 13 for the normal case, more for subnormals
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent, up to Inf: still correct
  return sign | h;
}

/** The f32 value of binary16 bits `h`. */
export function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 0x1f) return man ? NaN : sign * Infinity;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

/** f32 weights → f16 bits (round to nearest even), for `format: 'f16'` weights. */
export function toF16(w: Float32Array): Uint16Array {
  const out = new Uint16Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = f16Bits(w[i]!);
  return out;
}

/** f16 bits → f32 weights. */
export function fromF16(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = f16Value(h[i]!);
  return out;
}

/**
 * The bfloat16 bits of `v`: the top 16 bits of its f32, rounded to nearest, ties to even (PyTorch's `.bfloat16()`);
 * NaN stays a quiet NaN of the same sign.
 */
export function bf16Bits(v: number): number {
  f32[0] = v;
  const b = u32[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return ((b >>> 16) | 0x40) & 0xffff;
  const lsb = (b >>> 16) & 1;
  return ((b + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** The f32 value of bfloat16 bits `h` (exact: the bits shifted into the top half). */
export function bf16Value(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/** f32 weights → bf16 bits (round to nearest even), for `format: 'bf16'` weights. */
export function toBf16(w: Float32Array): Uint16Array {
  const out = new Uint16Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = bf16Bits(w[i]!);
  return out;
}

/** bf16 bits → f32 weights. */
export function fromBf16(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < h.length; i++) bits[i] = h[i]! << 16;
  return out;
}
