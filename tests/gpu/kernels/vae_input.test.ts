// vae_input against its twin: the VAE's scale/shift of the shipped configs and others, sizes around the workgroup
// size, bad arguments. f32 division is exact on the software rasteriser; WGSL allows 2.5 ulp, hence the 1e-6
// relative tolerance.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { vaeInput, type VaeInputArgs } from '../../../src/kernels/vae_input';
import { vaeInputRef } from '../../../src/kernels/vae_input.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

const CASES = [
  { n: 1, scale: 0.3611, shift: 0.1159 },
  { n: 255, scale: 1.5305, shift: 0.0609 },
  { n: 4 * 32 * 32, scale: 0.18215, shift: 0 },
  { n: 70_000, scale: -2, shift: 3 },
];

describe('vae_input', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it.each(CASES)('matches its twin for n $n, scale $scale, shift $shift', async ({ n, scale, shift }) => {
    const z = randomF32(n, n + 3, -4, 4);
    const out = bufs.empty(n * 4);
    runBatch(device, (b) => vaeInput(b, { z: bufs.upload(z), out, n, scale, shift }));
    expectClose(await readF32(device, out, n), vaeInputRef({ z, scale, shift }), 1e-6, 1e-7);
  });

  const args = (over: Partial<VaeInputArgs>): VaeInputArgs => ({
    z: bufs.empty(40),
    out: bufs.empty(40),
    n: 10,
    scale: 2,
    shift: 0,
    ...over,
  });
  const aliased = (): VaeInputArgs => {
    const z = bufs.empty(40);
    return args({ z, out: z });
  };
  const bad: [string, () => VaeInputArgs, string][] = [
    ['out too small', () => args({ out: bufs.empty(36) }), 'vae_input: out holds 36 bytes but 40 are needed'],
    ['out aliasing z', aliased, 'vae_input: out must not alias z'],
    ['scale 0', () => args({ scale: 0 }), 'vae_input: scale must be a finite non-zero number, got 0'],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const a = make();
    expect(() => vaeInput(new GpuBatch(device), a)).toThrow(KernelArgError);
    expect(() => vaeInput(new GpuBatch(device), a)).toThrow(message);
  });
});
