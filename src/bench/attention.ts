/**
 * @file Benchmark: our flash attention vs our naive three-pass attention vs onnxruntime-web's own attention
 * operator (com.microsoft MultiHeadAttention / GroupQueryAttention on its WebGPU EP), on the same shapes, the same
 * inputs (our GPU buffers, handed to ORT without a copy) and the same device. Before timing, every output is read
 * back and compared with the CPU twin, and the max abs differences are reported with the times.
 */
import { GpuBatch } from '../gpu/batch';
import { emptyBuffer, readF32, uploadBuffer } from '../gpu/readback';
import { attention, type AttentionArgs } from '../kernels/attention';
import { attentionNaive } from '../kernels/attention_naive';
import { attentionRef } from '../kernels/attention.ref';
import { buildModel, type GraphSpec } from '../runtime/onnx_graph';
import {
  bufferOf,
  cpuTensor,
  createSession,
  gpuTensor,
  type OrtFeeds,
  type OrtSession,
  type OrtTensor,
} from '../runtime/ort';
import { maxAbsDiff, measureInterleaved, randomF32, type Impl } from './measure';
import type { Bench, BenchContext, BenchReport } from './registry';

interface Shape {
  name: string;
  seqQ: number;
  seqK: number;
  /** Cached prefix (decode); 0 for self-attention. */
  cache: number;
  headsQ: number;
  headsKV: number;
  headDim: number;
  mask: 'causal' | 'full';
  /**
   * Calls per timed sample: 10 for the ~2 ms decode case, where a few calls left a sample mostly
   * wait-for-completion jitter.
   */
  iterations: number;
}

/**
 * Sizes picked to finish the whole benchmark in well under a minute on software WebGPU (SwiftShader) while still
 * being the painter's and the reasoner's kinds of work: an image-token block attending to itself (full mask),
 * a causal GQA prefill, and single-token decode over a 1024-token cache.
 */
const SHAPES: Shape[] = [
  {
    name: 'full (painter tokens)',
    seqQ: 256,
    seqK: 256,
    cache: 0,
    headsQ: 4,
    headsKV: 4,
    headDim: 64,
    mask: 'full',
    iterations: 1,
  },
  {
    name: 'causal GQA prefill',
    seqQ: 256,
    seqK: 256,
    cache: 0,
    headsQ: 8,
    headsKV: 2,
    headDim: 64,
    mask: 'causal',
    iterations: 1,
  },
  {
    name: 'decode after 1023 cached',
    seqQ: 1,
    seqK: 1,
    cache: 1023,
    headsQ: 8,
    headsKV: 2,
    headDim: 64,
    mask: 'causal',
    iterations: 10,
  },
];

function sizes(s: Shape): string {
  const keys = s.cache ? `cache ${s.cache} + Sk ${s.seqK}` : `Sk ${s.seqK}`;
  return `B 1, Sq ${s.seqQ}, ${keys}, Hq ${s.headsQ}, Hkv ${s.headsKV}, D ${s.headDim}, ${s.mask} mask, f32`;
}

/** [S, H, D] (our layout) → [H, S, D] (ORT's BNSH past_key / past_value). */
function toBnsh(x: Float32Array, S: number, H: number, D: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let s = 0; s < S; s++)
    for (let h = 0; h < H; h++) out.set(x.subarray((s * H + h) * D, (s * H + h + 1) * D), (h * S + s) * D);
  return out;
}

/**
 * The ORT graph for `s`: MultiHeadAttention for equal head counts without a cache and a full mask (its WebGPU
 * kernel has no causal mode), GroupQueryAttention (always causal, GQA, BNSH past K/V) otherwise. Both also
 * return present K/V, which is what lets ORT's WebGPU EP use its flash-attention shaders.
 */
function ortGraph(s: Shape): { spec: GraphSpec; op: string } {
  const hq = s.headsQ * s.headDim;
  const hkv = s.headsKV * s.headDim;
  const outputs = [
    { name: 'output', type: 'float32' as const, dims: [1, s.seqQ, hq] },
    { name: 'present_key', type: 'float32' as const, dims: [1, s.headsKV, 'total', s.headDim] },
    { name: 'present_value', type: 'float32' as const, dims: [1, s.headsKV, 'total', s.headDim] },
  ];
  const qkv = [
    { name: 'query', type: 'float32' as const, dims: [1, s.seqQ, hq] },
    { name: 'key', type: 'float32' as const, dims: [1, s.seqK, hkv] },
    { name: 'value', type: 'float32' as const, dims: [1, s.seqK, hkv] },
  ];
  if (s.mask === 'full' && s.headsQ === s.headsKV && s.cache === 0) {
    return {
      op: 'com.microsoft.MultiHeadAttention',
      spec: {
        name: 'mha',
        inputs: qkv,
        outputs,
        nodes: [
          {
            op: 'MultiHeadAttention',
            domain: 'com.microsoft',
            inputs: ['query', 'key', 'value'],
            outputs: outputs.map((o) => o.name),
            attrs: { num_heads: s.headsQ },
          },
        ],
        domains: { 'com.microsoft': 1 },
      },
    };
  }
  if (s.mask !== 'causal') throw new Error(`no ORT graph for ${s.name}`);
  const past = s.cache
    ? [
        { name: 'past_key', type: 'float32' as const, dims: [1, s.headsKV, s.cache, s.headDim] },
        { name: 'past_value', type: 'float32' as const, dims: [1, s.headsKV, s.cache, s.headDim] },
      ]
    : [];
  return {
    op: 'com.microsoft.GroupQueryAttention',
    spec: {
      name: 'gqa',
      inputs: [
        ...qkv,
        ...past,
        { name: 'seqlens_k', type: 'int32', dims: [1] },
        { name: 'total_sequence_length', type: 'int32', dims: [] },
      ],
      outputs,
      nodes: [
        {
          op: 'GroupQueryAttention',
          domain: 'com.microsoft',
          inputs: [
            'query',
            'key',
            'value',
            s.cache ? 'past_key' : '',
            s.cache ? 'past_value' : '',
            'seqlens_k',
            'total_sequence_length',
          ],
          outputs: outputs.map((o) => o.name),
          attrs: { num_heads: s.headsQ, kv_num_heads: s.headsKV },
        },
      ],
      domains: { 'com.microsoft': 1 },
    },
  };
}

async function runShape(s: Shape, report: BenchReport, ctx: BenchContext): Promise<void> {
  const { device } = ctx;
  const nq = s.seqQ * s.headsQ * s.headDim;
  const nkv = s.seqK * s.headsKV * s.headDim;
  const nc = s.cache * s.headsKV * s.headDim;
  const data = {
    q: randomF32(nq, 1),
    k: randomF32(nkv, 2),
    v: randomF32(nkv, 3),
    cacheK: randomF32(nc, 4),
    cacheV: randomF32(nc, 5),
  };
  const owned: GPUBuffer[] = [];
  const upload = (x: Float32Array, label: string) => {
    const b = uploadBuffer(device, x.length ? x : new Float32Array(4), label);
    owned.push(b);
    return b;
  };
  const shape = {
    seqQ: s.seqQ,
    seqK: s.seqK,
    headsQ: s.headsQ,
    headsKV: s.headsKV,
    headDim: s.headDim,
    mask: s.mask,
    cacheLens: s.cache || undefined,
  };
  const bufs = {
    q: upload(data.q, 'bench q'),
    k: upload(data.k, 'bench k'),
    v: upload(data.v, 'bench v'),
    cacheK: upload(data.cacheK, 'bench cache k'),
    cacheV: upload(data.cacheV, 'bench cache v'),
    pastK: upload(toBnsh(data.cacheK, s.cache, s.headsKV, s.headDim), 'bench past k (BNSH)'),
    pastV: upload(toBnsh(data.cacheV, s.cache, s.headsKV, s.headDim), 'bench past v (BNSH)'),
  };
  const args = (out: GPUBuffer): AttentionArgs => ({
    ...shape,
    q: bufs.q,
    k: bufs.k,
    v: bufs.v,
    cacheK: s.cache ? bufs.cacheK : undefined,
    cacheV: s.cache ? bufs.cacheV : undefined,
    out,
  });
  const outFlash = emptyBuffer(device, nq * 4, 'bench out flash');
  const outNaive = emptyBuffer(device, nq * 4, 'bench out naive');
  owned.push(outFlash, outNaive);

  const { spec, op } = ortGraph(s);
  let session: OrtSession | undefined;
  let last: Record<string, OrtTensor> | undefined;
  try {
    report.log(`${s.name}: creating the ${op} session`);
    session = await createSession(buildModel(spec), {
      backend: 'webgpu',
      device,
      gpuOutputs: ['output', 'present_key', 'present_value'],
      label: `${op} bench graph`,
    });
    const hq = s.headsQ * s.headDim;
    const hkv = s.headsKV * s.headDim;
    const feeds: OrtFeeds = {
      query: gpuTensor(bufs.q, [1, s.seqQ, hq]),
      key: gpuTensor(bufs.k, [1, s.seqK, hkv]),
      value: gpuTensor(bufs.v, [1, s.seqK, hkv]),
    };
    if (op.endsWith('GroupQueryAttention')) {
      const total = s.cache + s.seqK;
      feeds.seqlens_k = cpuTensor('int32', new Int32Array([total - 1]), [1]);
      feeds.total_sequence_length = cpuTensor('int32', new Int32Array([total]), []);
      if (s.cache) {
        feeds.past_key = gpuTensor(bufs.pastK, [1, s.headsKV, s.cache, s.headDim]);
        feeds.past_value = gpuTensor(bufs.pastV, [1, s.headsKV, s.cache, s.headDim]);
      }
    }
    const release = () => {
      for (const t of Object.values(last ?? {})) t.dispose();
      last = undefined;
    };
    const sess = session;
    const impls: Impl[] = [
      {
        name: 'flash (ours)',
        run: () => {
          const b = new GpuBatch(device, 'bench flash');
          attention(b, args(outFlash));
          b.submit();
        },
      },
      {
        name: 'naive 3-pass (ours)',
        run: () => {
          const b = new GpuBatch(device, 'bench naive');
          attentionNaive(b, args(outNaive));
          b.submit();
        },
      },
      {
        name: `onnxruntime-web ${op.replace('com.microsoft.', '')}`,
        run: async () => {
          release();
          last = await sess.run(feeds);
        },
        cleanup: release,
      },
    ];

    // Correctness first: one call each, read back, compare with the CPU twin.
    for (const impl of impls) {
      const t0 = performance.now();
      await impl.run();
      await device.queue.onSubmittedWorkDone();
      report.log(
        `${s.name}: first call of ${impl.name} took ${(performance.now() - t0).toFixed(0)} ms ` +
          '(includes pipeline creation)',
      );
    }
    const ref = attentionRef({ ...shape, q: data.q, k: data.k, v: data.v, cacheK: data.cacheK, cacheV: data.cacheV });
    const flash = await readF32(device, outFlash, nq);
    const naive = await readF32(device, outNaive, nq);
    const ort = await readF32(device, bufferOf(last!.output!), nq);
    release();
    const diffs = [
      `max |flash − CPU twin| = ${maxAbsDiff(flash, ref).toExponential(2)}`,
      `max |naive − CPU twin| = ${maxAbsDiff(naive, ref).toExponential(2)}`,
      `max |onnxruntime − CPU twin| = ${maxAbsDiff(ort, ref).toExponential(2)}`,
      `max |flash − naive| = ${maxAbsDiff(flash, naive).toExponential(2)}`,
      `max |flash − onnxruntime| = ${maxAbsDiff(flash, ort).toExponential(2)}`,
    ];
    report.log(`${s.name}: outputs checked (${diffs.join(', ')})`);
    const ortDiff = maxAbsDiff(ort, ref);
    if (!(ortDiff < 1e-3)) {
      diffs.push(
        `WARNING: onnxruntime-web's ${op} output is wrong on this adapter ` +
          `(max abs diff ${ortDiff.toExponential(2)} from the CPU twin, ` +
          'which our two kernels match); its time below is the time of that wrong result',
      );
      report.log(diffs[diffs.length - 1]!);
    }

    const reps = ctx.reps ?? 7;
    const measurements = await measureInterleaved(device, impls, {
      warmup: 1,
      reps,
      iterations: s.iterations,
      onSample: (impl, ms) => report.log(`${s.name}: ${impl} ${ms.toFixed(1)} ms`),
    });
    report.result({ name: s.name, sizes: sizes(s), baseline: impls[0]!.name, measurements, notes: diffs });
  } finally {
    for (const t of Object.values(last ?? {})) t.dispose();
    await session?.release();
    for (const b of owned) b.destroy();
  }
}

export const attentionBench: Bench = {
  name: 'attention',
  description:
    'flash attention (ours) vs naive three-pass attention (ours) vs ' +
    'onnxruntime-web MultiHeadAttention/GroupQueryAttention (WebGPU EP), ' +
    `same inputs on the same device; cases: ${SHAPES.map((s) => `${s.name} [${sizes(s)}]`).join('; ')}`,
  async run(report, ctx) {
    for (const s of SHAPES) await runShape(s, report, ctx);
  },
};
