/**
 * @file Kernel cases: matmul (f32, f16, int8 and int4 weights; f32 or f16 tiles) against the arithmetic peak, and
 * flash attention (src/kernels/attention.ts) against the naive three-pass version (attention_naive.ts), prefill and
 * decode. At tiny sizes every output is compared with its CPU twin (matmul.ref.ts, attention.ref.ts).
 */
import { GpuBatch } from '../../gpu/batch';
import { emptyBuffer, readF32, uploadBuffer } from '../../gpu/readback';
import { attention, type AttentionArgs } from '../../kernels/attention';
import { attentionNaive } from '../../kernels/attention_naive';
import { attentionRef } from '../../kernels/attention.ref';
import { ATTENTION_HEAD_DIMS, type AttentionShape } from '../../kernels/attention_shape';
import { matmul, matmulVariant, type LinearWeight, type WeightFormat } from '../../kernels/matmul';
import { matmulRef, type LinearWeightData } from '../../kernels/matmul.ref';
import { quantizeInt4, quantizeInt8, toBf16, toF16 } from '../../kernels/quantize';
import type { Precision } from '../../kernels/dispatch';
import { timeCalls, within, type BenchCase, type CaseCheck, type CaseOutput, type Preset } from './case';
import { filledBuffer, maxAbsDiff, randomF32 } from './data';

const BYTES: Record<WeightFormat, number> = { f32: 4, f16: 2, int8: 1, int4: 0.5, bf16: 2 };

function weightBytes(format: WeightFormat, N: number, K: number): number {
  const scale = format === 'int8' ? N * 4 : format === 'int4' ? N * (K / 32) * 4 : 0;
  return N * K * BYTES[format] + scale;
}

/** CPU data of a weight in `format` (from f32 values) and the same weight on the GPU; `bufs` collects buffers. */
function uploadWeight(
  device: GPUDevice,
  format: WeightFormat,
  w: Float32Array,
  N: number,
  K: number,
  bufs: GPUBuffer[],
): { data: LinearWeightData; gpu: LinearWeight } {
  const up = (a: ArrayBufferView, label: string) => {
    const b = uploadBuffer(device, a, label);
    bufs.push(b);
    return b;
  };
  switch (format) {
    case 'f32':
      return { data: { format, out: N, in: K, weight: w }, gpu: { format, out: N, in: K, weight: up(w, 'w') } };
    case 'f16': {
      const h = toF16(w);
      return { data: { format, out: N, in: K, weight: h }, gpu: { format, out: N, in: K, weight: up(h, 'w') } };
    }
    case 'bf16': {
      const h = toBf16(w);
      return { data: { format, out: N, in: K, weight: h }, gpu: { format, out: N, in: K, weight: up(h, 'w') } };
    }
    case 'int8': {
      const { q, scale } = quantizeInt8(w, N, K);
      const gpu: LinearWeight = { format, out: N, in: K, weightQ: up(q, 'q'), weightScale: up(scale, 's') };
      return { data: { format, out: N, in: K, weightQ: q, weightScale: scale }, gpu };
    }
    case 'int4': {
      const { q, scale } = quantizeInt4(w, N, K);
      const gpu: LinearWeight = { format, out: N, in: K, weightQ4: up(q, 'q'), weightScale: up(scale, 's') };
      return { data: { format, out: N, in: K, weightQ4: q, weightScale: scale }, gpu };
    }
  }
}

/** A weight of `format` filled with random data (no CPU copy), for large shapes. */
function filledWeight(device: GPUDevice, format: WeightFormat, N: number, K: number, bufs: GPUBuffer[]): LinearWeight {
  const mk = (bytes: number, kind: Parameters<typeof filledBuffer>[2], label: string) => {
    const b = filledBuffer(device, bytes, kind, label);
    bufs.push(b);
    return b;
  };
  switch (format) {
    case 'f32':
      return { format, out: N, in: K, weight: mk(N * K * 4, 'f32', 'w') };
    case 'f16':
    case 'bf16':
      // f16 bit patterns read as bf16 are finite values of a few units' magnitude: fine for timing.
      return { format, out: N, in: K, weight: mk(N * K * 2, 'f16', 'w') };
    case 'int8':
      return { format, out: N, in: K, weightQ: mk(N * K, 'bytes', 'q'), weightScale: mk(N * 4, 'scale', 's') };
    case 'int4':
      return {
        format,
        out: N,
        in: K,
        weightQ4: mk((N * K) / 2, 'bytes', 'q'),
        weightScale: mk(N * (K / 32) * 4, 'scale', 's'),
      };
  }
}

/** y[M, N] = x[M, K] · Wᵀ with W in `format` and `precision` tiles. */
export function matmulCase(
  preset: Preset,
  M: number,
  K: number,
  N: number,
  format: WeightFormat,
  precision: Precision,
): BenchCase {
  const variant = matmulVariant(M);
  const tiles = variant === 'tiled' ? `, ${precision} tiles` : '';
  const w = weightBytes(format, N, K);
  return {
    name: `matmul ${format}${tiles} M${M} K${K} N${N}`,
    group: 'matmul',
    preset,
    sizes: `x [${M}, ${K}] · W[${N}, ${K}]ᵀ (${format}), ${variant}${tiles}`,
    needs: precision === 'f16' ? ['shader-f16'] : [],
    memoryBytes: M * K * 4 + w + M * N * 4,
    largestBuffer: Math.max(M * K * 4, N * K * BYTES[format], M * N * 4),
    async run(ctx): Promise<CaseOutput> {
      const { device } = ctx;
      const bufs: GPUBuffer[] = [];
      try {
        let weight: LinearWeight;
        let data: LinearWeightData | null = null;
        let xData: Float32Array | null = null;
        let x: GPUBuffer;
        if (ctx.check) {
          xData = randomF32(M * K, 1);
          const up = uploadWeight(device, format, randomF32(N * K, 2, 0.5), N, K, bufs);
          weight = up.gpu;
          data = up.data;
          x = uploadBuffer(device, xData, 'x');
        } else {
          weight = filledWeight(device, format, N, K, bufs);
          x = filledBuffer(device, M * K * 4, 'f32', 'x');
        }
        bufs.push(x);
        const out = emptyBuffer(device, M * N * 4, 'y');
        bufs.push(out);
        const call = () => {
          const b = new GpuBatch(device, 'matmul');
          matmul(b, { x, weight, out, M, K, precision });
          b.submit();
        };
        const checks: CaseCheck[] = [];
        if (data && xData) {
          call();
          const got = await readF32(device, out, M * N);
          const want = matmulRef({ x: xData, weight: data, M, K });
          const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          checks.push(
            within('matmul vs matmul.ref', maxAbsDiff(got, want), (precision === 'f16' ? 2e-2 : 2e-5) * (scale + 1)),
          );
        }
        const t = await timeCalls(device, call, ctx.reps);
        return {
          ms: t.ms,
          bytes: M * K * 4 + w + M * N * 4,
          flops: 2 * M * N * K,
          peak: precision === 'f16' ? 'fp16' : 'fp32',
          notes: [`${t.iterations} calls per sample`],
          checks,
        };
      } finally {
        for (const b of bufs) b.destroy();
      }
    },
  };
}

export interface AttentionCaseShape {
  seqQ: number;
  /** Cached keys (decode: the context), 0 for prefill. */
  cache: number;
  headsQ: number;
  headsKV: number;
  headDim: number;
}

/** One attention call: prefill (causal over seqQ keys) or decode (one query over `cache` cached keys). */
export function attentionCase(preset: Preset, kind: 'flash' | 'naive', s: AttentionCaseShape): BenchCase {
  const decode = s.cache > 0;
  const heads = `H${s.headsQ}/${s.headsKV} D${s.headDim}`;
  const keys = decode ? s.cache + s.seqQ : s.seqQ;
  const qFloats = s.seqQ * s.headsQ * s.headDim;
  const kvFloats = (decode ? s.cache : s.seqQ) * s.headsKV * s.headDim;
  const scores = kind === 'naive' ? s.headsQ * s.seqQ * keys * 4 : 0;
  const shape: AttentionShape = decode
    ? {
        seqQ: s.seqQ,
        seqK: 0,
        headsQ: s.headsQ,
        headsKV: s.headsKV,
        headDim: s.headDim,
        mask: 'causal',
        cacheLens: s.cache,
        qOffset: s.cache - s.seqQ,
      }
    : { seqQ: s.seqQ, seqK: s.seqQ, headsQ: s.headsQ, headsKV: s.headsKV, headDim: s.headDim, mask: 'causal' };
  // Causal prefill: query i sees i + 1 keys; decode: every cached key.
  const pairs = decode ? s.seqQ * s.cache : (s.seqQ * (s.seqQ + 1)) / 2;
  return {
    name: `attention ${decode ? `decode ${kind} ctx${s.cache}` : `prefill ${kind} S${s.seqQ}`} ${heads}`,
    group: 'attention',
    preset,
    sizes: decode
      ? `1 query over ${s.cache} cached keys, ${s.headsQ} q heads / ${s.headsKV} kv heads × ${s.headDim}`
      : `${s.seqQ} tokens causal, ${s.headsQ} q heads / ${s.headsKV} kv heads × ${s.headDim}`,
    memoryBytes: (2 * qFloats + 2 * kvFloats) * 4 + scores,
    largestBuffer: Math.max(qFloats * 4, kvFloats * 4, scores),
    unsupported: () =>
      ATTENTION_HEAD_DIMS.includes(s.headDim)
        ? null
        : `the attention kernels support head_dim ${ATTENTION_HEAD_DIMS.join('/')}, not ${s.headDim}`,
    async run(ctx): Promise<CaseOutput> {
      const { device } = ctx;
      const bufs: GPUBuffer[] = [];
      const up = (a: Float32Array, label: string) => {
        const b = uploadBuffer(device, a, label);
        bufs.push(b);
        return b;
      };
      try {
        const q = randomF32(qFloats, 3);
        const k = randomF32(kvFloats, 4);
        const v = randomF32(kvFloats, 5);
        const qb = up(q, 'q');
        const kb = up(k, 'k');
        const vb = up(v, 'v');
        const out = emptyBuffer(device, qFloats * 4, 'out');
        bufs.push(out);
        const args: AttentionArgs = decode
          ? { ...shape, q: qb, k: qb, v: qb, cacheK: kb, cacheV: vb, out }
          : { ...shape, q: qb, k: kb, v: vb, out };
        const call = () => {
          const b = new GpuBatch(device, 'attention');
          if (kind === 'flash') attention(b, args);
          else attentionNaive(b, args);
          b.submit();
        };
        const checks: CaseCheck[] = [];
        if (ctx.check) {
          call();
          const got = await readF32(device, out, qFloats);
          const want = decode
            ? attentionRef({ ...shape, q, k: q, v: q, cacheK: k, cacheV: v })
            : attentionRef({ ...shape, q, k, v });
          checks.push(within(`attention ${kind} vs attention.ref`, maxAbsDiff(got, want), 1e-4));
        }
        const t = await timeCalls(device, call, ctx.reps);
        return {
          ms: t.ms,
          bytes: (2 * qFloats + 2 * kvFloats) * 4,
          flops: 4 * pairs * s.headsQ * s.headDim,
          peak: 'fp32',
          notes: [
            `${t.iterations} calls per sample; bytes: q, k, v and out once (the naive scores matrix not counted)`,
          ],
          checks,
        };
      } finally {
        for (const b of bufs) b.destroy();
      }
    },
  };
}
