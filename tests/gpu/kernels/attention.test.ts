import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers } from '../../helpers/gpu';
import { GpuBatch } from '../../../src/gpu/batch';
import { liveBufferCount } from '../../../src/gpu/device';
import { attention, type AttentionArgs } from '../../../src/kernels/attention';
import { attentionRef } from '../../../src/kernels/attention.ref';
import { KernelArgError } from '../../../src/errors';
import { CASES, checkCase } from './attention_cases';

describe('attention (flash)', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const c of CASES) {
    for (const path of ['tiled', 'split-keys'] as const) {
      it(`${c.name} [${path}] matches its twin`, async () => {
        await checkCase(device, bufs, c, attention, { path });
      });
    }
  }

  it('auto path matches its twin on both sides of the decode threshold', async () => {
    for (const seqQ of [8, 9]) {
      await checkCase(device, bufs, { name: `auto ${seqQ}`, mask: 'causal', seqQ, seqK: seqQ, cacheLens: 7, headsQ: 2, headsKV: 1, headDim: 32 }, attention);
    }
  });

  describe('bad arguments throw before anything is created or dispatched', () => {
    const f = (n: number) => bufs.empty(n * 4);
    const ok = (): AttentionArgs => ({
      q: f(2 * 5 * 4 * 32),
      k: f(2 * 5 * 2 * 32),
      v: f(2 * 5 * 2 * 32),
      out: f(2 * 5 * 4 * 32),
      batch: 2,
      seqQ: 5,
      seqK: 5,
      headsQ: 4,
      headsKV: 2,
      headDim: 32,
      mask: 'causal',
    });
    const bad: [string, (a: AttentionArgs) => Partial<AttentionArgs>, string][] = [
      ['heads not divisible', () => ({ headsQ: 6, headsKV: 4 }), 'attention: headsQ (6) is not a multiple of headsKV (4)'],
      ['unsupported head dim', () => ({ headDim: 48 }), 'attention: headDim 48 is not supported (supported: 16, 32, 64, 128)'],
      ['q too small', () => ({ q: f(100) }), 'attention: q holds 400 bytes but 5120 are needed'],
      ['v too small', () => ({ v: f(2 * 5 * 2 * 32 - 1) }), 'attention: v holds 2556 bytes but 2560 are needed'],
      ['out too small', () => ({ out: f(8) }), 'attention: out holds 32 bytes but 5120 are needed'],
      ['out aliases q', (a) => ({ out: a.q }), 'attention: out must not be the same buffer as q'],
      ['cache too small', () => ({ cacheLens: [3, 4], cacheK: f(10), cacheV: f(10) }), 'attention: cacheK holds 40 bytes but 2048 are needed'],
      ['cache buffers missing', () => ({ cacheLens: [3, 4] }), 'attention: cacheLens are set (max 4) but cacheK/cacheV are missing'],
      ['cacheLens of the wrong length', () => ({ cacheLens: [3] }), 'attention: cacheLens has 1 entries but batch is 2'],
      ['cacheLens beyond the capacity', () => ({ cacheLens: [3, 9], cacheCapacity: 8 }), 'attention: cacheLens (max 9) exceed cacheCapacity (8)'],
      ["'cond' without causalLen", () => ({ mask: 'cond' }), "attention: mask 'cond' needs causalLen"],
      ['zero query rows', () => ({ seqQ: 0 }), 'attention: seqQ must be a positive integer, got 0'],
      ['no keys at all', () => ({ seqK: 0 }), 'attention: seqK must be a positive integer, got 0'],
      ['fractional length', () => ({ seqK: 2.5 }), 'attention: seqK must be a positive integer, got 2.5'],
    ];
    for (const [what, patch, message] of bad) {
      it(what, () => {
        const base = ok();
        const args = { ...base, ...patch(base) };
        const batch = new GpuBatch(device);
        const before = liveBufferCount(device);
        expect(() => attention(batch, args)).toThrow(KernelArgError);
        expect(() => attention(batch, args)).toThrow(message);
        expect(liveBufferCount(device)).toBe(before);
        batch.submit();
      });
    }
  });

  it('the CPU twin rejects the same arguments', () => {
    const z = new Float32Array(0);
    expect(() => attentionRef({ q: z, k: z, v: z, seqQ: 1, seqK: 1, headsQ: 3, headsKV: 2, headDim: 32, mask: 'full' })).toThrow(
      'attentionRef: headsQ (3) is not a multiple of headsKV (2)',
    );
  });
});
