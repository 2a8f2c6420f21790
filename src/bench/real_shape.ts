/**
 * @file Benchmark: the reasoner engine at the shape of Qwen2.5-0.5B (hidden 896, 24 layers, 14 q / 2 kv heads,
 * head_dim 64, intermediate 4,864, vocab 151,936, tied) on seeded random weights (src/models/reasoner/
 * random_pack.ts), decode tokens/s with the same weights stored as int4, f16 and f32, side by side; and the same
 * dimensions with 2 layers (`real-dims-2l`), which a software adapter runs in minutes.
 *
 * The three formats hold exactly the same values, so their greedy tokens must agree with each other and (int4,
 * checked before timing) with the CPU twin (src/models/reasoner/reference.ts); the twin's top-1/top-2 margins are
 * printed. Decode tokens/s from nShort and nLong new tokens after the same prompt (interleaved, medians):
 * (nLong − nShort) / (T_long − T_short), as src/bench/reasoner.ts; the steps of a run are queued back to back and
 * the ids read once at the end (the GPU's decode rate, not the app's token-by-token loop). Bytes of weights read
 * per token: every matrix once (the tied table as the lm_head) plus one embedding row, norms and biases.
 *
 * Another engine compared at this shape must use the same weights: `REAL_SHAPE_CASE` (the preset, the seed, the
 * prompt) and `realShapeWeights(config, seed, format)`.
 */
import { GpuBatch } from '../gpu/batch';
import { liveBufferCount } from '../gpu/device';
import type { ReasonerConfig } from '../packs/manifest';
import { ReasonerEngine } from '../models/reasoner/engine';
import {
  asFormat,
  memoTensors,
  realShapeWeights,
  REAL_SHAPE_PRESETS,
  type RealShapeFormat,
  type RealShapePreset,
  type TensorGetter,
} from '../models/reasoner/random_pack';
import { reasonerReference } from '../models/reasoner/reference';
import { resolveSampling } from '../models/reasoner/sampling';
import { uploadReasonerTensors } from '../models/reasoner/tensor_upload';
import { philox4x32_10 } from '../kernels/philox';
import { measureInterleaved, type Impl } from './measure';
import type { Bench, BenchContext, BenchReport } from './registry';

export { realShapeWeights, REAL_SHAPE_PRESETS };

/** `n` prompt ids in [0, vocab) from `seed` (Philox, counter (i, 3)). */
export function realShapePrompt(vocab: number, n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => philox4x32_10([i, 3, 0, 0], [seed >>> 0, 0])[0]! % vocab);
}

/** The case every real-shape comparison uses: the 0.5B shape, seed 1, a 32-token prompt, 8 greedy tokens. */
export const REAL_SHAPE_CASE = {
  preset: 'qwen2.5-0.5b-shape' as const,
  seed: 1,
  promptLength: 32,
  newTokens: 8,
};

/** The getter of `format` made from the int4 getter `int4` (the same values; norms and biases as they are). */
export function inFormat(int4: TensorGetter, format: RealShapeFormat): TensorGetter {
  return (name) => {
    const t = int4(name);
    return t instanceof Float32Array ? t : asFormat(t, format);
  };
}

export interface GreedyResult {
  ids: number[];
  /** The prompt's last-row logits and the last step's, when asked for. */
  prefillLogits?: Float32Array;
  lastLogits?: Float32Array;
}

/**
 * `engine`'s greedy ids for `n` new tokens after `prompt`: prefill and every step queued back to back, one command
 * buffer each, the ids read at the end. The run's buffers are destroyed before it returns.
 */
export async function engineGreedy(
  engine: ReasonerEngine,
  prompt: readonly number[],
  n: number,
  opts: { logits?: boolean } = {},
): Promise<GreedyResult> {
  const sampling = resolveSampling({ temperature: 0 });
  const run = engine.run(prompt, n, n);
  try {
    const pre = new GpuBatch(engine.device, 'real-shape prefill');
    run.encodePrefill(pre, sampling, null);
    pre.submit();
    let prefillLogits: Float32Array | undefined;
    if (opts.logits) {
      await run.read(0);
      prefillLogits = await run.readLogits();
    }
    for (let s = 0; s + 1 < n; s++) {
      const b = new GpuBatch(engine.device, 'real-shape step');
      run.encodeStep(b, s, sampling, null);
      b.submit();
    }
    const ids: number[] = [];
    for (let s = 0; s < n; s++) ids.push(await run.read(s));
    const lastLogits = opts.logits ? await run.readLogits() : undefined;
    return { ids, prefillLogits, lastLogits };
  } finally {
    run.dispose();
  }
}

/** Bytes of weights one decode step reads: every uploaded byte once (the tied table as the lm_head) + one row. */
export function bytesPerToken(engine: ReasonerEngine): number {
  const c = engine.config;
  const rowBytes = { f32: 4, f16: 2, bf16: 2, int8: 1, int4: 0.5 }[engine.weights.format] * c.hidden_size;
  const scaleBytes = engine.weights.format === 'int4' ? (c.hidden_size / 32) * 4 : 0;
  return engine.weights.bytes + rowBytes + scaleBytes;
}

const FORMATS: RealShapeFormat[] = ['int4', 'f16', 'f32'];

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

/**
 * The benchmark on `preset`: `nShort` and `nLong` new tokens per timed run. The CPU twin's check runs
 * REAL_SHAPE_CASE.newTokens tokens on the int4 engine before timing; the f16 and f32 engines' tokens of every timed
 * run must equal the int4 engine's (checked after the timing, which runs them anyway).
 */
export function realShapeBench(name: string, preset: RealShapePreset, nShort: number, nLong: number): Bench {
  const config: ReasonerConfig = REAL_SHAPE_PRESETS[preset];
  return {
    name,
    optIn: true,
    description:
      `reasoner decode tokens/s at real dimensions (${preset}: ${config.num_hidden_layers} layers, seeded random ` +
      `weights, greedy, ${nLong} vs ${nShort} new tokens): the same weights as int4, f16 and f32`,
    run: (report, ctx) => runRealShape(report, ctx, config, nShort, nLong),
  };
}

async function runRealShape(
  report: BenchReport,
  ctx: BenchContext,
  config: ReasonerConfig,
  nShort: number,
  nLong: number,
): Promise<void> {
  const { device } = ctx;
  const prompt = realShapePrompt(config.vocab_size, REAL_SHAPE_CASE.promptLength, REAL_SHAPE_CASE.seed);
  const before = liveBufferCount(device);
  const secs = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  let t0: number;
  const int4 = memoTensors(realShapeWeights(config, REAL_SHAPE_CASE.seed, 'int4'));
  const engines: ReasonerEngine[] = [];
  try {
    for (const format of FORMATS) {
      t0 = performance.now();
      const w = uploadReasonerTensors(device, config, inFormat(int4, format), { what: `real-shape ${format}` });
      engines.push(new ReasonerEngine(device, w, config));
      report.log(`${format}: ${mb(w.bytes)} made and uploaded in ${secs(t0)}`);
    }
    // The check before timing: the int4 engine's greedy tokens are the CPU twin's on the same weights.
    const n = REAL_SHAPE_CASE.newTokens;
    t0 = performance.now();
    const twin = reasonerReference(config, int4, prompt, n);
    report.log(`CPU twin (int4): ${twin.ids.join(',')} in ${secs(t0)}`);
    const margins = twin.picks.map((p) => p.top1 - p.top2);
    report.log(`twin top-1 − top-2 logit margins: ${margins.map((m) => m.toFixed(3)).join(', ')}`);
    const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    const e4 = engines[0]!;
    t0 = performance.now();
    const ids4 = (await engineGreedy(e4, prompt, n)).ids;
    report.log(`engine int4 (${e4.precision} tiles): ${ids4.join(',')} in ${secs(t0)}`);
    // f16 tiles (shader-f16) round the activations; only f32 arithmetic is held to the twin's tokens exactly.
    if (e4.precision === 'f32' && !same(ids4, twin.ids))
      throw new Error("the int4 engine's greedy tokens differ from the CPU twin's");

    const seen = new Map<string, number[]>();
    const impls: Impl[] = engines.flatMap((e) =>
      [nLong, nShort].map((k) => ({
        name: `${e.weights.format} ${k}`,
        run: async () => void seen.set(`${e.weights.format} ${k}`, (await engineGreedy(e, prompt, k)).ids),
      })),
    );
    const m = await measureInterleaved(device, impls, {
      warmup: 1,
      reps: ctx.reps ?? 3,
      onSample: (impl, ms) => report.log(`${impl}: ${ms.toFixed(0)} ms`),
    });
    // The same values in every format: the same tokens (as far as the int4 run's first n go).
    for (const [impl, ids] of seen) {
      if (!same(ids, ids4.slice(0, ids.length)) && engines.every((e) => e.precision === 'f32'))
        throw new Error(`${impl}: greedy tokens ${ids.join(',')} differ from the int4 engine's`);
    }
    const steps = nLong - nShort;
    const rates = engines.map((_, i) => (steps * 1000) / (m[2 * i]!.medianMs - m[2 * i + 1]!.medianMs));
    const bytes = engines.map(bytesPerToken);
    const at = (f: RealShapeFormat) => FORMATS.indexOf(f);
    const ratio = (a: RealShapeFormat, b: RealShapeFormat) => rates[at(a)]! / rates[at(b)]!;
    report.result({
      name: 'decode by weight format',
      sizes:
        `prompt ${prompt.length} tokens, ${steps} decode steps (the difference of ${nLong} and ${nShort} new ` +
        `tokens), vocab ${config.vocab_size}, hidden ${config.hidden_size}, ${config.num_hidden_layers} layers, ` +
        `${config.num_attention_heads}/${config.num_key_value_heads} heads, intermediate ${config.intermediate_size}`,
      baseline: impls[0]!.name,
      measurements: m,
      notes: [
        `greedy tokens: int4 engine = CPU twin (${n} tokens), f16 and f32 engines = int4 engine (every timed run)` +
          (engines.some((e) => e.precision !== 'f32') ? ' — not asserted with f16 tiles' : ''),
        `twin margins top-1 − top-2: min ${Math.min(...margins).toFixed(3)}`,
        ...engines.map(
          (e, i) =>
            `${e.weights.format}: ${rates[i]!.toFixed(3)} tokens/s, ${mb(bytes[i]!)} of weights read per token ` +
            `(${e.precision} tiles)`,
        ),
        `bytes per token f16 / f32: ${(bytes[at('f16')]! / bytes[at('f32')]!).toFixed(3)}, ` +
          `int4 / f32: ${(bytes[at('int4')]! / bytes[at('f32')]!).toFixed(3)}`,
        `decode speed f16 / f32: ${ratio('f16', 'f32').toFixed(2)}x, ` +
          `int4 / f32: ${ratio('int4', 'f32').toFixed(2)}x, int4 / f16: ${ratio('int4', 'f16').toFixed(2)}x`,
      ],
    });
  } finally {
    for (const e of engines) e.dispose();
    if (liveBufferCount(device) !== before) report.log('warning: buffers left behind by the real-shape bench');
  }
}

/** The 0.5B shape, as the issue asks (on SwiftShader: hours; see docs/benchmarks.md). */
export const realShapeFullBench = realShapeBench('real-shape', 'qwen2.5-0.5b-shape', 2, 8);
/** The same dimensions with 2 layers: what a software adapter can run in minutes. */
export const realDimsBench = realShapeBench('real-dims-2l', 'few-layer', 2, 4);
