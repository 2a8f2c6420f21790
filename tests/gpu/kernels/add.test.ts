// add against its twin: sizes around the workgroup size and past 65535 workgroups' worth, in place on either
// operand (bit-identical to the out-of-place sum); bad arguments.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { add, type AddArgs } from '../../../src/kernels/add';
import { addRef } from '../../../src/kernels/add.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

describe('add', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const n of [1, 255, 257, 4099, 70_000]) {
    for (const mode of ['out of place', 'in place on a', 'in place on b'] as const) {
      it(`is bit-identical to its twin for n = ${n}, ${mode}`, async () => {
        const a = randomF32(n, n, -3, 3);
        const b = randomF32(n, n + 1, -3, 3);
        const ga = bufs.upload(a);
        const gb = bufs.upload(b);
        const out = mode === 'out of place' ? bufs.empty(n * 4) : mode === 'in place on a' ? ga : gb;
        runBatch(device, (batch) => add(batch, { a: ga, b: gb, out, n }));
        expect(Array.from(await readF32(device, out, n))).toEqual(Array.from(addRef({ a, b })));
        // b untouched
        if (mode === 'in place on a') expect(Array.from(await readF32(device, gb, n))).toEqual(Array.from(b));
      });
    }
  }

  it('adds a buffer to itself out of place (both operands read-only)', async () => {
    const a = randomF32(100, 5);
    const ga = bufs.upload(a);
    const out = bufs.empty(400);
    runBatch(device, (batch) => add(batch, { a: ga, b: ga, out, n: 100 }));
    expect(Array.from(await readF32(device, out, 100))).toEqual(Array.from(addRef({ a, b: a })));
  });

  const bad: [string, () => AddArgs, string][] = [
    [
      'b too small',
      () => ({ a: bufs.empty(40), b: bufs.empty(36), out: bufs.empty(40), n: 10 }),
      'add: b holds 36 bytes but 40 are needed',
    ],
    [
      'out aliasing both operands',
      () => {
        const a = bufs.empty(40);
        return { a, b: a, out: a, n: 10 };
      },
      'add: out may alias a or b, not both at once',
    ],
    [
      'n = 0',
      () => ({ a: bufs.empty(40), b: bufs.empty(40), out: bufs.empty(40), n: 0 }),
      'add: n must be a positive integer, got 0',
    ],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const args = make();
    expect(() => add(new GpuBatch(device), args)).toThrow(KernelArgError);
    expect(() => add(new GpuBatch(device), args)).toThrow(message);
  });
});
