/**
 * @file Reasoner cases: the Qwen2 text decoder of src/models/reasoner/engine.ts (unchanged) on the Dawn device.
 * - tiny: the shipped tiny-random pack's `reasoner.f32.safetensors` through the real loader
 *   (`uploadReasonerWeights`), greedy tokens checked against the PyTorch fixture.
 * - real shapes (Qwen2 0.5B / 1.5B / 7B decoder layers, int4 block-32 projections and lm_head, f16 embedding
 *   table, f32 norms; at 0.5B also f16 and f32 matrices, the f32 case with an f32 table): random weights
 *   generated on the device and handed to the same engine (it takes any LinearWeight format), which picks its
 *   prefill tile precision by `reasonerComputePrecision` (f16 tiles for f16 / int4 weights where the device has
 *   `shader-f16`); decode rows and attention compute in f32.
 * Decode: a prompt of `context` tokens is prefilled (not timed), then `steps` decode steps are submitted one command
 * buffer each and timed together; bytes per token = every weight once + the K/V cache read.
 */
import { GpuBatch } from '../../gpu/batch';
import type { LinearWeight } from '../../kernels/matmul';
import type { ReasonerConfig } from '../../packs/manifest';
import type { DecoderLayerWeights, GpuLinear } from '../../models/layers/weights';
import { ReasonerEngine } from '../../models/reasoner/engine';
import { resolveSampling } from '../../models/reasoner/sampling';
import { uploadReasonerWeights, type ReasonerWeights } from '../../models/reasoner/weights';
import { median } from '../measure';
import type { BenchCase, CaseCheck, CaseOutput, Preset } from './case';
import { filledBuffer, repoFile, repoJson } from './data';

export interface DecoderShape {
  label: string;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  inter: number;
  vocab: number;
}

/** Qwen2 decoder shapes (the models' config.json: hidden_size, layers, heads, kv heads, intermediate, vocab). */
export const QWEN2_SHAPES: readonly DecoderShape[] = [
  { label: '0.5B', hidden: 896, layers: 24, heads: 14, kvHeads: 2, headDim: 64, inter: 4864, vocab: 151936 },
  { label: '1.5B', hidden: 1536, layers: 28, heads: 12, kvHeads: 2, headDim: 128, inter: 8960, vocab: 151936 },
  { label: '7B', hidden: 3584, layers: 28, heads: 28, kvHeads: 4, headDim: 128, inter: 18944, vocab: 152064 },
];

/** A small shape through the same int4 path, for the tiny run (CI). */
export const TINY_DECODER: DecoderShape = {
  label: 'tiny',
  hidden: 128,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 32,
  inter: 256,
  vocab: 1024,
};

const TINY_PACK = 'public/models/tiny-random';

interface PackManifest {
  reasoner: ReasonerConfig;
  paths: { reasoner_weights?: string | Record<string, string> };
}

/** The formats the real-shape cases store their matrices in. */
export type CaseWeights = 'int4' | 'f16' | 'f32';

/** Bytes of an int4 block-32 weight [N, K] with its f32 scales. */
const int4Bytes = (N: number, K: number) => (N * K) / 2 + N * (K / 32) * 4;

/** Bytes of a weight [N, K] stored as `w`. */
const matBytes = (w: CaseWeights, N: number, K: number) =>
  w === 'int4' ? int4Bytes(N, K) : N * K * (w === 'f16' ? 2 : 4);

/**
 * The embedding table's format for matrices of `w`: f16 for int4 and f16 (7B's f32 table, 2,079 MiB, exceeds a 2 GiB
 * binding; decode gathers one row, so the table's format barely shows in the timings), f32 for f32.
 */
const embedFormat = (w: CaseWeights): 'f16' | 'f32' => (w === 'f32' ? 'f32' : 'f16');

function shapeBytes(
  s: DecoderShape,
  w: CaseWeights = 'int4',
): { linear: number; params: number; embed: number; lmHead: number } {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  const perLayer = [
    [q + 2 * kv, s.hidden],
    [s.hidden, q],
    [2 * s.inter, s.hidden],
    [s.hidden, s.inter],
  ] as const;
  let linear = 0;
  let params = 0;
  for (const [N, K] of perLayer) {
    linear += matBytes(w, N, K);
    params += N * K;
  }
  const norms = 2 * s.hidden * 4 + (q + 2 * kv) * 4;
  return {
    linear: s.layers * (linear + norms),
    params: s.layers * params,
    embed: s.vocab * s.hidden * (embedFormat(w) === 'f16' ? 2 : 4),
    lmHead: matBytes(w, s.vocab, s.hidden),
  };
}

/** A decoder config for the engine: the tiny-random pack's reasoner config with the decoder sizes of `s`. */
function configFor(s: DecoderShape): ReasonerConfig {
  const base = repoJson<PackManifest>(`${TINY_PACK}/manifest.json`).reasoner;
  return {
    ...base,
    vocab_size: s.vocab,
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    head_dim: s.headDim,
    intermediate_size: s.inter,
    rope_theta: 1e6,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
    attention_bias: true,
  };
}

/** Random weights of shape `s` stored as `w` on the device, in the engine's layout (fused q/k/v and gate/up). */
function randomWeights(device: GPUDevice, s: DecoderShape, w: CaseWeights): ReasonerWeights {
  const bufs: GPUBuffer[] = [];
  const mk = (bytes: number, kind: Parameters<typeof filledBuffer>[2], label: string) => {
    const b = filledBuffer(device, bytes, kind, label);
    bufs.push(b);
    return b;
  };
  const int4 = (N: number, K: number, label: string): LinearWeight => ({
    format: 'int4',
    out: N,
    in: K,
    weightQ4: mk((N * K) / 2, 'bytes', `${label} q4`),
    weightScale: mk(N * (K / 32) * 4, 'scale', `${label} scale`),
  });
  const mat = (N: number, K: number, label: string): LinearWeight =>
    w === 'int4'
      ? int4(N, K, label)
      : w === 'f16'
        ? { format: 'f16', out: N, in: K, weight: mk(matBytes(w, N, K), 'f16', `${label} f16`) }
        : { format: 'f32', out: N, in: K, weight: mk(matBytes(w, N, K), 'f32', `${label} f32`) };
  const lin = (N: number, K: number, label: string, bias = false): GpuLinear => ({
    w: mat(N, K, label),
    bias: bias ? mk(N * 4, 'f32', `${label} bias`) : undefined,
  });
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  try {
    const layers = Array.from({ length: s.layers }, (_, l): DecoderLayerWeights => ({
      inputNorm: mk(s.hidden * 4, 'ones', `l${l} input norm`),
      postNorm: mk(s.hidden * 4, 'ones', `l${l} post norm`),
      qkv: lin(q + 2 * kv, s.hidden, `l${l} qkv`, true),
      o: lin(s.hidden, q, `l${l} o`),
      gateUp: lin(2 * s.inter, s.hidden, `l${l} gate_up`),
      down: lin(s.hidden, s.inter, `l${l} down`),
    }));
    const b = shapeBytes(s, w);
    const ef = embedFormat(w);
    const embed: LinearWeight =
      ef === 'f16'
        ? { format: 'f16', out: s.vocab, in: s.hidden, weight: mk(b.embed, 'f16', 'embed') }
        : { format: 'f32', out: s.vocab, in: s.hidden, weight: mk(b.embed, 'f32', 'embed') };
    return {
      format: w,
      embed,
      layers,
      norm: mk(s.hidden * 4, 'ones', 'norm'),
      lmHead: mat(s.vocab, s.hidden, 'lm_head'),
      bytes: b.linear + b.embed + b.lmHead,
      dispose: () => {
        for (const x of bufs) x.destroy();
        bufs.length = 0;
      },
    };
  } catch (e) {
    for (const x of bufs) x.destroy();
    throw e;
  }
}

/** Median over `reps` fresh runs of the time of `steps` decode steps (after an untimed prefill), ms per token. */
async function timeDecode(
  device: GPUDevice,
  engine: ReasonerEngine,
  prompt: number[],
  steps: number,
  reps: number,
): Promise<number> {
  const sampling = resolveSampling({});
  const samples: number[] = [];
  for (let r = 0; r < reps + 1; r++) {
    const run = engine.run(prompt, steps + 1, 2);
    try {
      const pre = new GpuBatch(device, 'prefill');
      run.encodePrefill(pre, sampling, null);
      pre.submit();
      await device.queue.onSubmittedWorkDone();
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) {
        const b = new GpuBatch(device, 'decode');
        run.encodeStep(b, s, sampling, null);
        b.submit();
      }
      await device.queue.onSubmittedWorkDone();
      if (r > 0) samples.push((performance.now() - t0) / steps);
    } finally {
      run.dispose();
    }
  }
  return median(samples);
}

/** Median over `reps` fresh runs of one prefill of `prompt`, ms. */
async function timePrefill(device: GPUDevice, engine: ReasonerEngine, prompt: number[], reps: number): Promise<number> {
  const sampling = resolveSampling({});
  const samples: number[] = [];
  for (let r = 0; r < reps + 1; r++) {
    const run = engine.run(prompt, 1, 1);
    try {
      await device.queue.onSubmittedWorkDone();
      const t0 = performance.now();
      const b = new GpuBatch(device, 'prefill');
      run.encodePrefill(b, sampling, null);
      b.submit();
      await device.queue.onSubmittedWorkDone();
      if (r > 0) samples.push(performance.now() - t0);
    } finally {
      run.dispose();
    }
  }
  return median(samples);
}

/** The greedy tokens the engine draws after `prompt` (reads each id back). */
async function greedy(device: GPUDevice, engine: ReasonerEngine, prompt: number[], n: number): Promise<number[]> {
  const sampling = resolveSampling({});
  const run = engine.run(prompt, n, n);
  try {
    const b = new GpuBatch(device, 'prefill');
    run.encodePrefill(b, sampling, null);
    b.submit();
    const ids = [await run.read(0)];
    for (let s = 0; s + 1 < n; s++) {
      const d = new GpuBatch(device, 'decode');
      run.encodeStep(d, s, sampling, null);
      d.submit();
      ids.push(await run.read(s + 1));
    }
    return ids;
  } finally {
    run.dispose();
  }
}

/** Decode (or prefill) of the tiny-random pack, its greedy tokens checked against the PyTorch fixture. */
export function tinyReasonerCase(mode: 'decode' | 'prefill'): BenchCase {
  return {
    name: `reasoner ${mode} tiny-random`,
    group: 'reasoner',
    preset: 'tiny',
    sizes: 'the tiny-random pack (reasoner.f32.safetensors), the fixture\'s 25-token "plain" prompt',
    memoryBytes: 8 << 20,
    largestBuffer: 1 << 20,
    async run(ctx): Promise<CaseOutput> {
      const { device } = ctx;
      const m = repoJson<PackManifest>(`${TINY_PACK}/manifest.json`);
      const c = m.reasoner;
      const rw = m.paths.reasoner_weights;
      const file = repoFile(`${TINY_PACK}/${(typeof rw === 'string' ? rw : rw?.f32) ?? 'reasoner.f32.safetensors'}`);
      const engine = new ReasonerEngine(device, uploadReasonerWeights(device, file, c), c);
      try {
        const fx = repoJson<{ greedy: { name: string; input_ids: number[]; generated_ids: number[] }[] }>(
          'tests/fixtures/tiny-random/fixtures.json',
        );
        const plain = fx.greedy.find((g) => g.name === 'plain')!;
        const checks: CaseCheck[] = [];
        if (ctx.check) {
          const got = await greedy(device, engine, plain.input_ids, plain.generated_ids.length);
          const ok = JSON.stringify(got) === JSON.stringify(plain.generated_ids);
          checks.push({
            ok,
            detail: `greedy tokens ${ok ? 'equal' : 'differ from'} the PyTorch fixture: ${got.join(',')}`,
          });
        }
        const params =
          c.num_hidden_layers * c.hidden_size * (c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim +
          c.num_hidden_layers *
            (c.num_attention_heads * c.head_dim * c.hidden_size + 3 * c.hidden_size * c.intermediate_size) +
          c.vocab_size * c.hidden_size;
        const L = plain.input_ids.length;
        if (mode === 'decode') {
          const steps = 8;
          const ms = await timeDecode(device, engine, plain.input_ids, steps, ctx.reps);
          return {
            ms,
            bytes: engine.weights.bytes,
            flops: 2 * params,
            peak: 'fp32',
            notes: [`${(1000 / ms).toFixed(1)} tokens/s over ${steps} steps after a ${L}-token prompt`],
            checks,
          };
        }
        const ms = await timePrefill(device, engine, plain.input_ids, ctx.reps);
        return {
          ms,
          bytes: engine.weights.bytes,
          flops: 2 * params * L,
          peak: 'fp32',
          notes: [`${((1000 * L) / ms).toFixed(1)} prompt tokens/s (${L} tokens)`],
          checks,
        };
      } finally {
        engine.dispose();
      }
    },
  };
}

/** Decode or prefill at a real Qwen2 shape with random weights stored as `w`; `context` prompt tokens. */
export function qwen2Case(
  s: DecoderShape,
  mode: 'decode' | 'prefill',
  context: number,
  preset: Preset = 'real',
  w: CaseWeights = 'int4',
): BenchCase {
  const b = shapeBytes(s, w);
  const kvBytes = s.layers * 2 * (context + 64) * s.kvHeads * s.headDim * 4;
  const rows = mode === 'prefill' ? context : 1;
  const acts = rows * (4 * s.hidden + 2 * (s.heads + s.kvHeads) * s.headDim + 3 * s.inter) * 4;
  return {
    name: `reasoner ${mode} Qwen2-${s.label} ${w} ctx${context}`,
    group: 'reasoner',
    preset,
    sizes:
      `${s.layers} layers, hidden ${s.hidden}, ${s.heads}/${s.kvHeads} heads × ${s.headDim}, ` +
      `inter ${s.inter}, vocab ${s.vocab}; ${w} linears`,
    memoryBytes: b.linear + b.embed + b.lmHead + kvBytes + acts,
    largestBuffer: Math.max(b.embed, rows * 2 * s.inter * 4),
    async run(ctx): Promise<CaseOutput> {
      const { device } = ctx;
      const c = configFor(s);
      const engine = new ReasonerEngine(device, randomWeights(device, s, w), c);
      try {
        const prompt = Array.from({ length: context }, (_, i) => (i * 7919) % s.vocab);
        const checks: CaseCheck[] = [];
        if (ctx.check) {
          // Random weights have no reference output: the check is that the path runs and draws ids in range.
          const ids = await greedy(device, engine, prompt, 4);
          checks.push({
            ok: ids.every((id) => id >= 0 && id < s.vocab),
            detail: `${w} engine drew ids ${ids.join(',')} (vocab ${s.vocab})`,
          });
        }
        const attnFlops = (ctxLen: number) => 4 * s.layers * s.heads * s.headDim * ctxLen;
        if (mode === 'decode') {
          const steps = 16;
          const ms = await timeDecode(device, engine, prompt, steps, ctx.reps);
          const avgCtx = context + steps / 2;
          const kvRead = s.layers * 2 * avgCtx * s.kvHeads * s.headDim * 4;
          return {
            ms,
            bytes: b.linear + b.lmHead + kvRead + s.hidden * 4,
            flops: 2 * (b.params + s.vocab * s.hidden) + attnFlops(avgCtx),
            peak: 'fp32',
            notes: [
              `${(1000 / ms).toFixed(2)} tokens/s (${steps} steps after a ${context}-token prompt)`,
              `engine: ${engine.precision} prefill tiles (reasonerComputePrecision); decode rows, attention in f32`,
            ],
            checks,
          };
        }
        const ms = await timePrefill(device, engine, prompt, ctx.reps);
        return {
          ms,
          bytes: b.linear + b.lmHead + s.layers * 2 * context * s.kvHeads * s.headDim * 4,
          flops: 2 * b.params * context + 2 * s.vocab * s.hidden + attnFlops((context * (context + 1)) / 2),
          peak: 'fp32',
          notes: [
            `${((1000 * context) / ms).toFixed(0)} prompt tokens/s`,
            `engine: ${engine.precision} tiles (reasonerComputePrecision); attention in f32`,
          ],
          checks,
        };
      } finally {
        engine.dispose();
      }
    },
  };
}
