/**
 * @file Benchmark: reasoner decode tokens/s at one config with int4 block-32 weights, our WGSL engine against
 * transformers.js `generate()` on an ONNX of the same int4 bytes (MatMulNBits, src/bench/qwen2_onnx.ts), greedy,
 * the same prompt ids. `compareQwen2Decode` takes any config and tensor function (the real-shape bench calls it);
 * the registered bench runs it on the tiny-random pack's reasoner quantised to int4.
 *
 * As in src/bench/reasoner.ts, decode tokens/s leaves out the prefill: each side generates N_SHORT and N_LONG new
 * tokens (interleaved, medians), and the rate is (N_LONG − N_SHORT) / (T_LONG − T_SHORT). The two sides' greedy
 * tokens are checked equal before anything is timed.
 */
import { GpuBatch } from '../gpu/batch';
import { ENGINE_AHEAD } from '../models/reasoner/generate';
import { ReasonerEngine } from '../models/reasoner/engine';
import { resolveSampling } from '../models/reasoner/sampling';
import { uploadReasonerWeights } from '../models/reasoner/weights';
import type { ReasonerConfig } from '../packs/manifest';
import { reasonerWeightPaths } from '../packs/manifest';
import { FetchPackSource } from '../packs/source';
import { measureInterleaved, type Impl } from './measure';
import { int4Safetensors, int4TensorsFromF32, randomInt4Tensors } from './qwen2_int4';
import { buildQwen2Onnx, qwen2HfConfig, type Qwen2OnnxOptions, type Qwen2Tensor } from './qwen2_onnx';
import { REASONER_BENCH_CASE } from './reasoner_case';
import type { Bench, BenchContext, BenchReport, CaseResult } from './registry';
import { loadTjsQwen2 } from './tjs_qwen2';

/**
 * Greedy ids from our engine: the prefill draws the first, then each step is queued ENGINE_AHEAD ahead of the id
 * being read back (src/models/reasoner/generate.ts's loop, without stops).
 */
export async function engineGreedy(engine: ReasonerEngine, ids: readonly number[], maxNew: number): Promise<number[]> {
  const r = engine.run(ids, maxNew, ENGINE_AHEAD + 1);
  try {
    const sampling = resolveSampling({ temperature: 0 });
    const pre = new GpuBatch(engine.device, 'qwen2 bench prefill');
    r.encodePrefill(pre, sampling, null);
    pre.submit();
    const out: number[] = [];
    let queued = 0;
    for (let step = 0; step < maxNew; step++) {
      while (queued < step + ENGINE_AHEAD && queued + 1 < maxNew) {
        const b = new GpuBatch(engine.device, 'qwen2 bench step');
        r.encodeStep(b, queued, sampling, null);
        b.submit();
        queued++;
      }
      out.push(await r.read(step));
    }
    return out;
  } finally {
    r.dispose();
  }
}

export interface Qwen2DecodeOptions {
  /** The prompt ids (tokens below vocab_size). */
  promptIds: readonly number[];
  /** New tokens of the short and the long run (default 2 and 16). */
  short?: number;
  long?: number;
  reps?: number;
  /** How the ONNX graph is built (default: fused ops, f32 Gather embedding). */
  onnx?: Qwen2OnnxOptions;
  /** A name for the case (default "decode"). */
  name?: string;
}

/**
 * Decode tokens/s of our engine and of transformers.js generate() at config `c` on the int4 tensors of `tensor`,
 * measured interleaved on `device` (ours) with transformers.js on its own device. Throws when the greedy tokens
 * differ. Returns the case, with the rates and their ratio in its notes.
 */
export async function compareQwen2Decode(
  device: GPUDevice,
  c: ReasonerConfig,
  tensor: Qwen2Tensor,
  opts: Qwen2DecodeOptions,
  report: BenchReport,
): Promise<CaseResult & { engineRate: number; tjsRate: number }> {
  const short = opts.short ?? 2;
  const long = opts.long ?? 16;
  const ids = opts.promptIds;
  const t0 = performance.now();
  const file = int4Safetensors(c, tensor);
  const onnx = buildQwen2Onnx(c, tensor, opts.onnx);
  report.log(
    `built the int4 safetensors (${(file.length / 2 ** 20).toFixed(1)} MiB) and the ONNX ` +
      `(${(onnx.length / 2 ** 20).toFixed(1)} MiB) in ${(performance.now() - t0).toFixed(0)} ms`,
  );
  const engine = new ReasonerEngine(device, uploadReasonerWeights(device, file, c, 'qwen2 bench int4'), c);
  let theirs: Awaited<ReturnType<typeof loadTjsQwen2>> | null = null;
  try {
    theirs = await loadTjsQwen2(onnx, qwen2HfConfig(c));
    const tjs = theirs;
    const ours = await engineGreedy(engine, ids, long);
    const their = await tjs.generate(ids, long);
    report.log(`engine:          ${ours.join(',')}`);
    report.log(`transformers.js: ${their.join(',')}`);
    if (JSON.stringify(ours) !== JSON.stringify(their))
      throw new Error('our engine and transformers.js generate different greedy tokens from the same int4 weights');
    const impls: Impl[] = [
      { name: `engine ${long}`, run: async () => void (await engineGreedy(engine, ids, long)) },
      { name: `engine ${short}`, run: async () => void (await engineGreedy(engine, ids, short)) },
      { name: `transformers.js ${long}`, run: async () => void (await tjs.generate(ids, long)) },
      { name: `transformers.js ${short}`, run: async () => void (await tjs.generate(ids, short)) },
    ];
    const m = await measureInterleaved(device, impls, {
      warmup: 1,
      reps: opts.reps ?? 5,
      onSample: (impl, ms) => report.log(`${impl}: ${ms.toFixed(0)} ms`),
    });
    const steps = long - short;
    const rate = (a: number, b: number) => (steps * 1000) / (m[a]!.medianMs - m[b]!.medianMs);
    const engineRate = rate(0, 1);
    const tjsRate = rate(2, 3);
    const graph = opts.onnx?.graph ?? 'fused';
    return {
      name: opts.name ?? 'decode',
      sizes:
        `int4 block-32, prompt ${ids.length} tokens, ${steps} decode steps (${long} − ${short} new tokens), ` +
        `vocab ${c.vocab_size}, hidden ${c.hidden_size}, ${c.num_hidden_layers} layers, ` +
        `heads ${c.num_attention_heads}/${c.num_key_value_heads}, intermediate ${c.intermediate_size}`,
      baseline: impls[0]!.name,
      measurements: m,
      notes: [
        `same greedy tokens (${long}) from the engine and transformers.js (${graph} ONNX graph, MatMulNBits)`,
        `decode: engine ${engineRate.toFixed(2)} tokens/s, transformers.js ${tjsRate.toFixed(2)} tokens/s`,
        `decode speed ratio engine / transformers.js (int4): ${(engineRate / tjsRate).toFixed(2)}x (goal 1.5x)`,
      ],
      engineRate,
      tjsRate,
    };
  } finally {
    await theirs?.dispose().catch(() => undefined);
    engine.dispose();
  }
}

export const qwen2Int4Bench: Bench = {
  name: 'qwen2-int4-tiny',
  description:
    'reasoner decode tokens/s with int4 weights (tiny-random quantised, greedy, 16 vs 2 new tokens): ' +
    'our WGSL engine vs transformers.js generate() on an ONNX of the same int4 bytes (MatMulNBits)',
  async run(report: BenchReport, ctx: BenchContext) {
    const source = new FetchPackSource('tiny-random', new URL('/models/tiny-random/', location.href).href);
    const m = await source.manifest();
    const bytes = await source.file(reasonerWeightPaths(m.paths).f32!);
    const r = await compareQwen2Decode(
      ctx.device,
      m.reasoner,
      int4TensorsFromF32(bytes),
      { promptIds: REASONER_BENCH_CASE.inputIds, reps: ctx.reps },
      report,
    );
    report.result(r);
  },
};

/**
 * The wide case: two Qwen2-0.5B decoder layers (hidden 896, 14 / 2 heads of 64, intermediate 4,864) with its
 * 151,936-token vocabulary and tied lm_head, random int4 weights; the embedding as GatherBlockQuantized on the same
 * int4 table (an f32 table would be 544 MB of ONNX). The rest of the config is tiny-random's.
 */
export const qwen2Int4WideBench: Bench = {
  name: 'qwen2-int4-wide',
  optIn: true,
  description:
    'reasoner decode tokens/s with int4 weights at a 0.5B-wide shape (2 layers, hidden 896, vocab 151,936, random), ' +
    'greedy, 4 vs 2 new tokens: our WGSL engine vs transformers.js generate() on the same int4 bytes',
  async run(report: BenchReport, ctx: BenchContext) {
    const source = new FetchPackSource('tiny-random', new URL('/models/tiny-random/', location.href).href);
    const base = (await source.manifest()).reasoner;
    const c: ReasonerConfig = {
      ...base,
      vocab_size: 151_936,
      hidden_size: 896,
      num_hidden_layers: 2,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      head_dim: 64,
      intermediate_size: 4864,
      max_position_embeddings: 4096,
      rope_theta: 1_000_000,
      tie_word_embeddings: true,
      attention_bias: true,
    };
    const r = await compareQwen2Decode(
      ctx.device,
      c,
      randomInt4Tensors(c, 7),
      {
        promptIds: REASONER_BENCH_CASE.inputIds,
        // One decode step takes seconds here on software WebGPU: few tokens, one sample unless asked for more.
        short: 2,
        long: 4,
        reps: ctx.reps ?? 1,
        onnx: { graph: 'fused', embedding: 'quantized' },
        name: 'decode, 0.5B-wide',
      },
      report,
    );
    report.result(r);
  },
};
