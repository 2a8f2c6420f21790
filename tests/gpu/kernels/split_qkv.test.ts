// split_qkv against its twin: grouped-query and equal head counts, one row and many (past one workgroup), k and v
// written into the first rows of larger cache buffers (the reasoner's prefill) or from a later row (one chunk of a
// chunked prefill), bad arguments.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { splitQkv, type SplitQkvArgs } from '../../../src/kernels/split_qkv';
import { splitQkvRef } from '../../../src/kernels/split_qkv.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

const CASES = [
  { rows: 1, H: 4, KV: 2, D: 16 },
  { rows: 7, H: 2, KV: 2, D: 32 },
  { rows: 130, H: 14, KV: 2, D: 64 },
  { rows: 3, H: 5, KV: 1, D: 3 },
];

describe('split_qkv', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it.each(CASES)('is bit-identical to its twin for $rows rows, H $H, KV $KV, D $D', async ({ rows, H, KV, D }) => {
    const qkv = randomF32(rows * (H + 2 * KV) * D, rows * 31 + H * 7 + KV + D, -4, 4);
    const want = splitQkvRef({ qkv, rows, H, KV, D });
    const q = bufs.empty(want.q.byteLength);
    const k = bufs.empty(want.k.byteLength);
    const v = bufs.empty(want.v.byteLength);
    runBatch(device, (b) => splitQkv(b, { qkv: bufs.upload(qkv), q, k, v, rows, H, KV, D }));
    expect(Array.from(await readF32(device, q, want.q.length))).toEqual(Array.from(want.q));
    expect(Array.from(await readF32(device, k, want.k.length))).toEqual(Array.from(want.k));
    expect(Array.from(await readF32(device, v, want.v.length))).toEqual(Array.from(want.v));
  });

  it('writes only the first rows of larger k/v buffers (a prompt into a K/V cache)', async () => {
    const [rows, H, KV, D, capacity] = [5, 4, 2, 16, 9];
    const qkv = randomF32(rows * (H + 2 * KV) * D, 77);
    const want = splitQkvRef({ qkv, rows, H, KV, D });
    const sentinel = new Float32Array(capacity * KV * D).fill(-7);
    const q = bufs.empty(want.q.byteLength);
    const k = bufs.upload(sentinel);
    const v = bufs.upload(sentinel);
    runBatch(device, (b) => splitQkv(b, { qkv: bufs.upload(qkv), q, k, v, rows, H, KV, D }));
    for (const [buf, part] of [
      [k, want.k],
      [v, want.v],
    ] as const) {
      const got = await readF32(device, buf, capacity * KV * D);
      expect(Array.from(got.subarray(0, rows * KV * D))).toEqual(Array.from(part));
      expect(got.subarray(rows * KV * D).every((x) => x === -7)).toBe(true);
    }
  });

  it('writes k/v from row kvRow of the cache and nothing before or after (a prefill chunk)', async () => {
    const [rows, H, KV, D, capacity, kvRow] = [5, 4, 2, 16, 12, 3];
    const qkv = randomF32(rows * (H + 2 * KV) * D, 78);
    const want = splitQkvRef({ qkv, rows, H, KV, D, kvRow });
    const sentinel = new Float32Array(capacity * KV * D).fill(-7);
    const q = bufs.empty(rows * H * D * 4);
    const k = bufs.upload(sentinel);
    const v = bufs.upload(sentinel);
    runBatch(device, (b) => splitQkv(b, { qkv: bufs.upload(qkv), q, k, v, rows, H, KV, D, kvRow }));
    expect(Array.from(await readF32(device, q, want.q.length))).toEqual(Array.from(want.q));
    const [from, to] = [kvRow * KV * D, (kvRow + rows) * KV * D];
    for (const [buf, part] of [
      [k, want.k],
      [v, want.v],
    ] as const) {
      const got = await readF32(device, buf, capacity * KV * D);
      expect(Array.from(got.subarray(from, to))).toEqual(Array.from(part.subarray(from, to)));
      expect(got.subarray(0, from).every((x) => x === -7)).toBe(true);
      expect(got.subarray(to).every((x) => x === -7)).toBe(true);
    }
  });

  const args = (over: Partial<SplitQkvArgs>): SplitQkvArgs => ({
    qkv: bufs.empty(2 * 8 * 4 * 4),
    q: bufs.empty(2 * 4 * 4 * 4),
    k: bufs.empty(2 * 2 * 4 * 4),
    v: bufs.empty(2 * 2 * 4 * 4),
    rows: 2,
    H: 4,
    KV: 2,
    D: 4,
    ...over,
  });
  const aliased = (a: 'qkv' | 'q' | 'k', b: 'q' | 'v'): SplitQkvArgs => {
    const buf = bufs.empty(256);
    return args({ [a]: buf, [b]: buf });
  };
  const bad: [string, () => SplitQkvArgs, string][] = [
    ['qkv too small', () => args({ qkv: bufs.empty(100) }), 'split_qkv: qkv holds 100 bytes but 256 are needed'],
    ['v too small', () => args({ v: bufs.empty(60) }), 'split_qkv: v holds 60 bytes but 64 are needed'],
    ['k aliasing v', () => aliased('k', 'v'), 'split_qkv: q, k and v must be three different buffers'],
    ['q aliasing qkv', () => aliased('qkv', 'q'), 'split_qkv: q, k and v must not alias qkv'],
    ['KV = 0', () => args({ KV: 0 }), 'split_qkv: KV must be a positive integer, got 0'],
    ['k/v rows past the cache', () => args({ kvRow: 1 }), 'split_qkv: k holds 64 bytes but 96 are needed'],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const a = make();
    expect(() => splitQkv(new GpuBatch(device), a)).toThrow(KernelArgError);
    expect(() => splitQkv(new GpuBatch(device), a)).toThrow(message);
  });
});
