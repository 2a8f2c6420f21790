import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers } from '../../helpers/gpu';
import { GpuBatch } from '../../../src/gpu/batch';
import { liveBufferCount } from '../../../src/gpu/device';
import { attention, decodeSplits, DECODE_MAX_SPLITS, type AttentionArgs } from '../../../src/kernels/attention';
import { attentionRef } from '../../../src/kernels/attention.ref';
import { resolveAttention } from '../../../src/kernels/attention_shape';
import { KernelArgError } from '../../../src/errors';
import { randomF32 } from '../../helpers/rng';
import { CASES, checkCase, SPLIT_CASES } from './attention_cases';

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

  for (const c of SPLIT_CASES) {
    for (const path of ['auto', 'split-keys', 'tiled'] as const) {
      it(`${c.name} [${path}] matches its twin`, async () => {
        await checkCase(device, bufs, c, attention, { path });
      });
    }
  }

  it('the split cases still cut their keys the way their names say', () => {
    const seen = new Set<string>();
    for (const c of SPLIT_CASES) {
      const keys = resolveAttention('test', c).maxKeys;
      const { splits, keysPerSplit } = decodeSplits(keys);
      const last = keys - (splits - 1) * keysPerSplit;
      expect(keysPerSplit % 4, c.name).toBe(0);
      expect(last, c.name).toBeGreaterThan(0);
      expect(last, c.name).toBeLessThanOrEqual(keysPerSplit);
      const kind =
        splits === 1 ? 'one' : splits === DECODE_MAX_SPLITS ? 'cap' : last === keysPerSplit ? 'whole' : 'ragged';
      expect(kind, c.name).toBe(c.chunks);
      seen.add(kind);
    }
    expect([...seen].sort()).toEqual(['cap', 'one', 'ragged', 'whole']);
  });

  it('the split path frees its partials and meta buffers at submit', async () => {
    const c = SPLIT_CASES.find((x) => x.chunks === 'ragged' && x.batch === 2)!;
    const B = c.batch!;
    const cap = c.cacheCapacity!;
    const n = (rows: number) => B * rows * c.headsKV * c.headDim;
    const args: AttentionArgs = {
      ...c,
      q: bufs.upload(randomF32(B * c.seqQ * c.headsQ * c.headDim, 1)),
      k: bufs.upload(randomF32(n(c.seqK), 2)),
      v: bufs.upload(randomF32(n(c.seqK), 3)),
      cacheK: bufs.upload(randomF32(n(cap), 4)),
      cacheV: bufs.upload(randomF32(n(cap), 5)),
      out: bufs.empty(B * c.seqQ * c.headsQ * c.headDim * 4),
    };
    const before = liveBufferCount(device);
    const batch = new GpuBatch(device);
    attention(batch, args);
    // Meta, the two passes' uniforms and the partials exist until submit.
    expect(liveBufferCount(device)).toBeGreaterThanOrEqual(before + 3);
    batch.submit();
    await device.queue.onSubmittedWorkDone();
    expect(liveBufferCount(device)).toBe(before);
  });

  it('auto path matches its twin on both sides of the decode threshold', async () => {
    for (const seqQ of [8, 9]) {
      await checkCase(
        device,
        bufs,
        { name: `auto ${seqQ}`, mask: 'causal', seqQ, seqK: seqQ, cacheLens: 7, headsQ: 2, headsKV: 1, headDim: 32 },
        attention,
      );
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
      [
        'heads not divisible',
        () => ({ headsQ: 6, headsKV: 4 }),
        'attention: headsQ (6) is not a multiple of headsKV (4)',
      ],
      [
        'unsupported head dim',
        () => ({ headDim: 48 }),
        'attention: headDim 48 is not supported (supported: 16, 32, 64, 96, 128)',
      ],
      ['q too small', () => ({ q: f(100) }), 'attention: q holds 400 bytes but 5120 are needed'],
      ['v too small', () => ({ v: f(2 * 5 * 2 * 32 - 1) }), 'attention: v holds 2556 bytes but 2560 are needed'],
      ['out too small', () => ({ out: f(8) }), 'attention: out holds 32 bytes but 5120 are needed'],
      ['out aliases q', (a) => ({ out: a.q }), 'attention: out must not be the same buffer as q'],
      [
        'cache too small',
        () => ({ cacheLens: [3, 4], cacheK: f(10), cacheV: f(10) }),
        'attention: cacheK holds 40 bytes but 2048 are needed',
      ],
      [
        'cache buffers missing',
        () => ({ cacheLens: [3, 4] }),
        'attention: cacheLens are set (max 4) but cacheK/cacheV are missing',
      ],
      [
        'cacheLens of the wrong length',
        () => ({ cacheLens: [3] }),
        'attention: cacheLens has 1 entries but batch is 2',
      ],
      [
        'cacheLens beyond the capacity',
        () => ({ cacheLens: [3, 9], cacheCapacity: 8 }),
        'attention: cacheLens (max 9) exceed cacheCapacity (8)',
      ],
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

  it('decode partials beyond one binding are refused before anything is created', () => {
    const limit = device.limits.maxStorageBufferBindingSize;
    // 4096 keys give 64 chunks of (D/4 + 1) vec4 per row; enough query rows (8 × Hq) to pass the limit.
    const perRow = 64 * (128 / 4 + 1) * 16;
    const headsQ = Math.ceil((Math.floor(limit / perRow) + 1) / 8);
    const rows = 8 * headsQ;
    const args: AttentionArgs = {
      q: bufs.empty(rows * 128 * 4),
      out: bufs.empty(rows * 128 * 4),
      k: bufs.empty(8 * 128 * 4),
      v: bufs.empty(8 * 128 * 4),
      cacheK: bufs.empty(4088 * 128 * 4),
      cacheV: bufs.empty(4088 * 128 * 4),
      cacheLens: 4088,
      seqQ: 8,
      seqK: 8,
      headsQ,
      headsKV: 1,
      headDim: 128,
      mask: 'causal',
    };
    const batch = new GpuBatch(device);
    const before = liveBufferCount(device);
    const bytes = rows * perRow;
    expect(() => attention(batch, args)).toThrow(KernelArgError);
    expect(() => attention(batch, args)).toThrow(
      `attention: the decode partials need ${bytes} bytes, more than one binding holds (${limit})`,
    );
    expect(liveBufferCount(device)).toBe(before);
    batch.submit();
  });

  it('the CPU twin rejects the same arguments', () => {
    const z = new Float32Array(0);
    expect(() =>
      attentionRef({ q: z, k: z, v: z, seqQ: 1, seqK: 1, headsQ: 3, headsKV: 2, headDim: 32, mask: 'full' }),
    ).toThrow('attentionRef: headsQ (3) is not a multiple of headsKV (2)');
  });
});
