/**
 * @file What our kernels support, gathered from the lists and limits they export, for the memory plan
 * (src/packs/plan.ts), which checks a pack's dims against it before any download or allocation.
 */
import { ATTENTION_HEAD_DIMS, decodeSplits } from '../kernels/attention';
import type { KernelSupport } from '../packs/plan';

/**
 * The sample kernel keeps ids in u32 with 0xffffffff as "none" and reads a whole logits row as one binding (the
 * binding limit is the adapter's and is checked by the plan separately).
 */
export const SAMPLE_MAX_VOCAB = 0xffffffff - 1;

/** The kernels' support: attention head dims, the sample kernel's vocab range, the decode partials' size. */
export const KERNEL_SUPPORT: KernelSupport = {
  headDims: ATTENTION_HEAD_DIMS,
  maxVocab: SAMPLE_MAX_VOCAB,
  decodeScratchBytes: (keys, headsQ, headDim) => {
    const { splits } = decodeSplits(keys);
    return splits === 1 ? 0 : headsQ * splits * (headDim / 4 + 1) * 16;
  },
};
