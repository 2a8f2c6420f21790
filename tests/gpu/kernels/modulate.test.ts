// modulate and modulateGate: against their twins at 1e-4 relative (1e-5 absolute near zero).
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import { modulate, modulateGate } from '../../../src/kernels/modulate';
import { modulateGateRef, modulateRef } from '../../../src/kernels/modulate.ref';

interface Case {
  name: string;
  rows: number;
  dim: number;
  rowsPerItem?: number;
  modStride?: number;
  /** Floats in the modulation buffer (all vectors live in one buffer, at these offsets). */
  modLength: number;
  shiftOffset?: number;
  scaleOffset?: number;
  gateOffset?: number;
}

const cases: Case[] = [
  { name: 'one row, one float', rows: 1, dim: 1, modLength: 1 },
  { name: 'one item [5, 64]', rows: 5, dim: 64, modLength: 64 },
  {
    name: 'two items [2 x 37, 48], packed [shift | scale]',
    rows: 74,
    dim: 48,
    rowsPerItem: 37,
    modStride: 96,
    modLength: 192,
    scaleOffset: 48,
  },
  {
    name: 'three items, DiT-style packed 6 x dim (mlp shift/scale/gate)',
    rows: 3 * 19,
    dim: 40,
    rowsPerItem: 19,
    modStride: 240,
    modLength: 720,
    shiftOffset: 120,
    scaleOffset: 160,
    gateOffset: 200,
  },
  { name: 'CFG batch [2 x 700, 96]', rows: 1400, dim: 96, rowsPerItem: 700, modLength: 192 },
];

describe('modulate', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const c of cases) {
    it(`modulate matches its twin: ${c.name}`, async () => {
      const x = randomF32(c.rows * c.dim, c.rows + c.dim, -3, 3);
      const mod = randomF32(c.modLength, 7, -1.5, 1.5);
      const xBuf = bufs.upload(x);
      const modBuf = bufs.upload(mod);
      runBatch(device, (b) => modulate(b, { ...c, x: xBuf, shift: modBuf, scale: modBuf }));
      expectClose(await readF32(device, xBuf, x.length), modulateRef(x, mod, mod, c));
    });

    it(`modulateGate matches its twin: ${c.name}`, async () => {
      const res = randomF32(c.rows * c.dim, 3, -3, 3);
      const x = randomF32(c.rows * c.dim, 4, -3, 3);
      const gate = randomF32(c.modLength, 8, -1, 1);
      const resBuf = bufs.upload(res);
      runBatch(device, (b) => modulateGate(b, { ...c, residual: resBuf, gate: bufs.upload(gate), x: bufs.upload(x) }));
      expectClose(await readF32(device, resBuf, res.length), modulateGateRef(res, gate, x, c));
    });
  }

  it('rejects bad arguments before dispatching', () => {
    const x = bufs.empty(4 * 64);
    const mod = bufs.empty(4 * 32);
    const b = new GpuBatch(device);
    expect(() => modulate(b, { x, shift: mod, scale: mod, rows: 5, dim: 16 })).toThrow(KernelArgError);
    expect(() => modulate(b, { x, shift: mod, scale: mod, rows: 5, dim: 16 })).toThrow(
      'modulate: x holds 256 bytes but 320 are needed',
    );
    expect(() => modulate(b, { x, shift: mod, scale: mod, rows: 4, dim: 16, scaleOffset: 20 })).toThrow(
      'modulate: scale holds 128 bytes but 144 are needed',
    );
    expect(() => modulate(b, { x, shift: mod, scale: mod, rows: 4, dim: 16, rowsPerItem: 1 })).toThrow(
      'modulate: shift holds 128 bytes but 256 are needed',
    );
    expect(() => modulate(b, { x, shift: mod, scale: mod, rows: 4, dim: 16, rowsPerItem: 3 })).toThrow(
      'modulate: rows 4 is not a multiple of rowsPerItem 3',
    );
    expect(() => modulateGate(b, { residual: x, gate: mod, x, rows: 4, dim: 16 })).toThrow(
      'modulate_gate: residual and x must be different buffers',
    );
    expect(() => modulateGate(b, { residual: x, gate: mod, x: mod, rows: 4, dim: 16 })).toThrow(
      'modulate_gate: x holds 128 bytes but 256 are needed',
    );
  });
});
