// The TS quantiser against the Python one: quantising every f32 weight of the shipped tiny-random painter must give
// byte-identical weight_q / weight_q4 and bit-identical weight_scale to the int8 / int4 files tools/ wrote.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, tensorData, type SafeDtype } from '../../../src/packs/safetensors';
import {
  bf16Bits,
  bf16Value,
  dequantizeInt4,
  dequantizeInt8,
  f16Bits,
  f16Value,
  fromBf16,
  fromF16,
  quantizeInt4,
  quantizeInt8,
  roundHalfEven,
  toBf16,
  toF16,
} from '../../../src/kernels/quantize';

const DIR = fileURLToPath(new URL('../../../public/models/tiny-random/', import.meta.url));
function load(name: string) {
  const bytes = new Uint8Array(readFileSync(DIR + name));
  const st = parseSafetensors(bytes, name);
  return {
    tensors: st.tensors,
    info: (n: string) => st.tensors.get(n)!,
    get: <D extends SafeDtype>(n: string, dtype: D) => tensorData(bytes, st, n, dtype),
  };
}
const f32File = load('painter.f32.safetensors');

function bitsEqual(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  expect(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
  ).toBe(true);
}

describe('roundHalfEven', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, 0],
    [-1.5, -2],
    [-2.5, -2],
    [3.49, 3],
    [-3.51, -4],
    [7, 7],
    [6.5, 6],
    [-7.5, -8],
  ])('%f → %i', (v, r) => expect(roundHalfEven(v) + 0).toBe(r));
});

for (const mode of ['int8', 'int4'] as const) {
  describe(`${mode} quantiser vs tools/rgvlm/safetensors_io.py`, () => {
    const qFile = load(`painter.${mode}.safetensors`);
    const suffix = mode === 'int8' ? '.weight_q' : '.weight_q4';
    const names = [...qFile.tensors.keys()].filter((n) => n.endsWith(suffix)).map((n) => n.slice(0, -suffix.length));

    it('the packed file holds quantised linears', () => expect(names.length).toBeGreaterThanOrEqual(8));

    it.each(names)('%s', (base) => {
      const w = f32File.get(`${base}.weight`, 'F32');
      const [rows, cols] = f32File.info(`${base}.weight`).shape as [number, number];
      const pyScale = qFile.get(`${base}.weight_scale`, 'F32');
      if (mode === 'int8') {
        const { q, scale } = quantizeInt8(w, rows, cols);
        expect(Array.from(q)).toEqual(Array.from(qFile.get(`${base}.weight_q`, 'I8')));
        bitsEqual(scale, pyScale);
        // dequantised weights are within half a step of the originals
        const d = dequantizeInt8(q, scale, rows, cols);
        for (let i = 0; i < d.length; i++)
          expect(Math.abs(d[i]! - w[i]!)).toBeLessThanOrEqual(scale[Math.floor(i / cols)]! * 0.5 * (1 + 1e-6));
      } else {
        const { q, scale } = quantizeInt4(w, rows, cols);
        expect(qFile.info(`${base}.weight_q4`).shape).toEqual([rows, cols / 2]);
        expect(qFile.info(`${base}.weight_scale`).shape).toEqual([rows, cols / 32]);
        expect(Array.from(q)).toEqual(Array.from(qFile.get(`${base}.weight_q4`, 'U8')));
        bitsEqual(scale, pyScale);
        const d = dequantizeInt4(q, scale, rows, cols);
        for (let i = 0; i < d.length; i++)
          expect(Math.abs(d[i]! - w[i]!)).toBeLessThanOrEqual(scale[i >> 5]! * 0.5 * (1 + 1e-6));
      }
    });

    it('leaves every other tensor f32 and bit-identical', () => {
      for (const [name, info] of qFile.tensors) {
        if (name.endsWith(suffix) || name.endsWith('.weight_scale')) continue;
        expect(info.dtype, name).toBe('F32');
        bitsEqual(qFile.get(name, 'F32'), f32File.get(name, 'F32'));
      }
    });
  });
}

describe('quantiser edge cases', () => {
  it('int8: an all-zero row gets scale 1; ties round to even; the row max maps to ±127', () => {
    // row 0 zeros; row 1: max 127 → s = 1 exactly, so w / s = w and ties are visible
    const w = new Float32Array([0, 0, 0, 0, 127, 2.5, -3.5, 0.5]);
    const { q, scale } = quantizeInt8(w, 2, 4);
    expect(Array.from(scale)).toEqual([1, 1]);
    expect(Array.from(q)).toEqual([0, 0, 0, 0, 127, 2, -4, 0]);
  });

  it('int4: the nibble layout of docs/formats.md (element 2j low, 2j + 1 high, stored q + 8)', () => {
    const w = new Float32Array(32);
    w[0] = 7; // block max → s = 1
    w[1] = -7;
    w[2] = 3;
    w[3] = -2.5; // tie → -2 (even)
    w[31] = 1;
    const { q, scale } = quantizeInt4(w, 1, 32);
    expect(scale[0]).toBe(1);
    expect(q[0]).toBe((7 + 8) | ((-7 + 8) << 4));
    expect(q[1]).toBe((3 + 8) | ((-2 + 8) << 4));
    expect(q[2]).toBe(8 | (8 << 4));
    expect(q[15]).toBe(8 | (9 << 4));
    expect(Array.from(dequantizeInt4(q, scale, 1, 32).subarray(0, 4))).toEqual([7, -7, 3, -2]);
  });

  it('int4 rejects rows that are not whole blocks', () => {
    expect(() => quantizeInt4(new Float32Array(48), 1, 48)).toThrow(
      'quantizeInt4: cols must be a multiple of 32, got 48',
    );
    expect(() => quantizeInt8(new Float32Array(10), 3, 4)).toThrow('quantizeInt8: 10 elements is not 3 × 4');
  });

  it('f16 conversion rounds to nearest even and round-trips every finite f16', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16Value(h);
      if (Number.isNaN(v)) expect(Number.isNaN(f16Value(f16Bits(v)))).toBe(true);
      else expect(f16Bits(v)).toBe(h);
    }
    expect(f16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (1.0)
    expect(f16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (1 + 2^-9)
    expect(f16Bits(65520)).toBe(0x7c00); // rounds past the largest finite → Inf
    expect(f16Bits(2 ** -25)).toBe(0); // half the smallest subnormal, tie → 0
    expect(f16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(Array.from(fromF16(toF16(new Float32Array([0.1, -2, 3.14159]))))).toEqual([
      f16Value(0x2e66),
      -2,
      f16Value(0x4248),
    ]);
  });

  it('bf16 conversion rounds to nearest even, keeps NaN and Inf, and round-trips every bf16', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = bf16Value(h);
      if (Number.isNaN(v)) expect(Number.isNaN(bf16Value(bf16Bits(v)))).toBe(true);
      else expect(bf16Bits(v)).toBe(h);
    }
    expect(bf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even (1.0)
    expect(bf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even (1 + 2^-6)
    expect(bf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81); // above the tie → up
    expect(bf16Bits(-Infinity)).toBe(0xff80);
    expect(bf16Bits(3.4e38)).toBe(0x7f80); // past the largest finite bf16 → Inf
    expect(Number.isNaN(bf16Value(bf16Bits(NaN)))).toBe(true);
    expect(Array.from(fromBf16(toBf16(new Float32Array([0.1, -2, 3.14159]))))).toEqual([
      bf16Value(0x3dcd),
      -2,
      bf16Value(0x4049),
    ]);
  });
});
