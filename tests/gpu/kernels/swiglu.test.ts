// swiglu against its twin: the [gate | up] split of Phi-3's fused gate_up_proj, odd widths, bad arguments.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { swiglu } from '../../../src/kernels/swiglu';
import { swigluRef } from '../../../src/kernels/swiglu.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

const CASES = [
  { rows: 1, inter: 64 },
  { rows: 3, inter: 100 },
  { rows: 67, inter: 130 },
  { rows: 5, inter: 1 },
];

describe('swiglu', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it.each(CASES)('matches its twin for $rows rows, inter $inter', async ({ rows, inter }) => {
    const x = randomF32(rows * 2 * inter, rows * 7 + inter, -6, 6);
    const out = bufs.empty(rows * inter * 4);
    runBatch(device, (b) => swiglu(b, { x: bufs.upload(x), out, rows, inter }));
    expectClose(await readF32(device, out, rows * inter), swigluRef({ x, rows, inter }));
  });

  it('takes the gate from the first half of the row and up from the second', async () => {
    // gate = [0, 10], up = [5, 2]: silu(0) · 5 = 0, silu(10) · 2 ≈ 19.99909
    const out = bufs.empty(8);
    runBatch(device, (b) => swiglu(b, { x: bufs.upload(new Float32Array([0, 10, 5, 2])), out, rows: 1, inter: 2 }));
    expectClose(await readF32(device, out, 2), [0, 20 / (1 + Math.exp(-10))]);
  });

  it('stays finite for extreme gates (silu of ±1e30, ±100, ±80.5)', async () => {
    const gate = [1e30, -1e30, 100, -100, 80.5, -80.5, 0, -0];
    const x = new Float32Array([...gate, ...gate.map(() => 1.5)]);
    const out = bufs.empty(gate.length * 4);
    runBatch(device, (b) => swiglu(b, { x: bufs.upload(x), out, rows: 1, inter: gate.length }));
    const got = await readF32(device, out, gate.length);
    expect(got.every(Number.isFinite)).toBe(true);
    expectClose(got, swigluRef({ x, rows: 1, inter: gate.length }));
  });

  const bad: [string, () => Parameters<typeof swiglu>[1], string][] = [
    [
      'x holding one half only',
      () => ({ x: bufs.empty(3 * 16 * 4), out: bufs.empty(3 * 16 * 4), rows: 3, inter: 16 }),
      'swiglu: x holds 192 bytes but 384 are needed',
    ],
    [
      'out aliasing x',
      () => {
        const x = bufs.empty(128);
        return { x, out: x, rows: 1, inter: 16 };
      },
      'swiglu: out must not alias x',
    ],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const args = make();
    expect(() => swiglu(new GpuBatch(device), args)).toThrow(KernelArgError);
    expect(() => swiglu(new GpuBatch(device), args)).toThrow(message);
  });
});
