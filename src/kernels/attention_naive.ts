/**
 * @file attention_naive: three-pass attention (scores S = scale · QKᵀ into a scratch buffer, softmax in place,
 * S · V), the baseline `npm run bench` measures the flash kernel against. Same arguments, layouts and masks as
 * src/kernels/attention.ts; the scratch matrix [B, Hq, Sq, T] (T = longest key sequence) belongs to the batch.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/attention_naive.wgsl?raw';
import { flatGroups, need } from './dispatch';
import { checkAttentionBuffers, metaBuffer, type AttentionArgs } from './attention';

const WG = 64;

/** Encodes the three passes into `batch`. `path` is ignored. */
export function attentionNaive(batch: GpuBatch, args: AttentionArgs): void {
  const { r, params: base, meta } = checkAttentionBuffers('attentionNaive', args);
  const keys = r.maxKeys;
  const rows = r.batch * r.headsQ * r.seqQ;
  const scoreBytes = rows * keys * 4;
  const limit = batch.device.limits.maxStorageBufferBindingSize;
  need(
    'attentionNaive',
    scoreBytes <= limit,
    `the score matrix needs ${scoreBytes} bytes, more than one binding holds (${limit})`,
  );
  const s = batch.scratch(scoreBytes, 'attention_naive scores');
  const metaBuf = metaBuffer(batch, meta);
  const counts = [rows * keys, rows, (rows * r.headDim) / 4];
  counts.forEach((n, pass) => {
    const { groups, stride } = flatGroups(n, WG);
    const params = new ArrayBuffer(36);
    new Uint8Array(params).set(new Uint8Array(base));
    new Uint32Array(params, 24, 3).set([keys, n, stride]);
    const pipeline = batch.pipeline(`attention_naive:p${pass}:d${r.headDim}`, code, {
      PASS: pass,
      WG,
      HEAD_DIM: r.headDim,
    });
    const buffers = [
      args.q,
      args.k,
      args.v,
      args.cacheK ?? args.k,
      args.cacheV ?? args.v,
      args.out,
      metaBuf,
      s,
      batch.uniform(params),
    ];
    batch.dispatch(pipeline, buffers, groups);
  });
}
