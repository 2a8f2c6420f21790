import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers } from '../../helpers/gpu';
import { GpuBatch } from '../../../src/gpu/batch';
import { attentionNaive } from '../../../src/kernels/attention_naive';
import { KernelArgError } from '../../../src/errors';
import { CASES, checkCase, SPLIT_CASES } from './attention_cases';

describe('attention_naive (three passes)', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const c of [...CASES, ...SPLIT_CASES]) {
    it(`${c.name} matches the attention twin`, async () => {
      await checkCase(device, bufs, c, attentionNaive);
    });
  }

  it('rejects heads that do not divide, naming itself', () => {
    const b = bufs.empty(4096);
    const batch = new GpuBatch(device);
    const args = {
      q: b,
      k: b,
      v: b,
      out: bufs.empty(4096),
      seqQ: 1,
      seqK: 1,
      headsQ: 3,
      headsKV: 2,
      headDim: 32,
      mask: 'full' as const,
    };
    expect(() => attentionNaive(batch, args)).toThrow(KernelArgError);
    expect(() => attentionNaive(batch, args)).toThrow('attentionNaive: headsQ (3) is not a multiple of headsKV (2)');
    batch.submit();
  });
});
