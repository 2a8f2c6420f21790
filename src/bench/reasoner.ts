/**
 * @file Benchmark: reasoner decode speed of three implementations on the same tiny-random pack, greedy, same prompt:
 * - engine: our WGSL text decoder (src/models/reasoner/engine.ts) on our device, one command buffer per step, ids
 *   embedded on the GPU from the `sample` kernel's buffer, two steps queued ahead of the 4-byte readback;
 * - ORT loop: our loop around onnxruntime-web's WebGPU EP running `decoder_model_merged.onnx` on our device (KV cache
 *   as gpu-buffer tensors, the `sample` kernel reading ORT's logits buffer, one step ahead);
 * - transformers.js `generate()` (LlavaForConditionalGeneration on its own WebGPU device, KV cache on the GPU,
 *   logits read back to the CPU every step) on the same ONNX files, served by our own server.
 *
 * Decode tokens/s is measured without the prefill: each implementation generates N_SHORT and N_LONG new tokens
 * (interleaved, medians), and the rate is (N_LONG − N_SHORT) / (T_LONG − T_SHORT). Before timing, the three
 * implementations' greedy tokens are asserted equal (and equal to the PyTorch fixture). The headline ratio is
 * engine / transformers.js (goal 1.3x).
 */
import { FetchPackSource } from '../packs/source';
import {
  generate,
  preparePrompt,
  ReasonerModel,
  understandMessages,
  type PreparedPrompt,
  type ReasonerPath,
} from '../models/reasoner';
// transformers.js's own onnxruntime-web build (another version than ours), through the alias in vite.config.ts.
import ortMjsUrl from '@rg/transformers-ort/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasmUrl from '@rg/transformers-ort/ort-wasm-simd-threaded.asyncify.wasm?url';
import { measureInterleaved, type Impl } from './measure';
import { REASONER_BENCH_CASE } from './reasoner_case';
import type { Bench, BenchContext, BenchReport } from './registry';

const N_SHORT = 2;
const N_LONG = 16;
const QUESTION = REASONER_BENCH_CASE.question;

type Tjs = typeof import('@huggingface/transformers');
interface TjsModel {
  generate(args: Record<string, unknown>): Promise<unknown>;
  dispose(): Promise<unknown>;
}

/** transformers.js, pointed at our own server only (no CDN, no remote models, no browser caches). */
export async function loadTransformers(modelsBase: string): Promise<Tjs> {
  const tjs = await import('@huggingface/transformers');
  const env = tjs.env;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = modelsBase;
  env.useBrowserCache = false;
  env.useWasmCache = false;
  const onnx = env.backends.onnx as { wasm?: { wasmPaths?: unknown; numThreads?: number } };
  if (onnx.wasm)
    onnx.wasm.wasmPaths = {
      mjs: new URL(ortMjsUrl, location.href).href,
      wasm: new URL(ortWasmUrl, location.href).href,
    };
  return tjs;
}

/** The tokens transformers.js generates greedily after `ids`. */
async function tjsGenerate(tjs: Tjs, model: TjsModel, ids: number[], maxNew: number): Promise<number[]> {
  const input_ids = new tjs.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]);
  const attention_mask = new tjs.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
  const out = (await model.generate({ input_ids, attention_mask, max_new_tokens: maxNew, do_sample: false })) as {
    data: BigInt64Array;
    dispose?: () => void;
  };
  const all = Array.from(out.data, Number);
  return all.slice(ids.length);
}

export const reasonerBench: Bench = {
  name: 'reasoner',
  description:
    `reasoner decode tokens/s (tiny-random, greedy, ${N_LONG} vs ${N_SHORT} new tokens): ` +
    'our WGSL engine and our ORT loop vs transformers.js generate() on the same pack',
  async run(report: BenchReport, ctx: BenchContext) {
    const modelsBase = new URL('/models/', location.href).href;
    const source = new FetchPackSource('tiny-random', new URL('tiny-random/', modelsBase).href);
    const ours = await ReasonerModel.load(source, { backend: 'webgpu', device: ctx.device });
    const tjs = await loadTransformers(modelsBase);
    const theirs = (await tjs.LlavaForConditionalGeneration.from_pretrained('tiny-random', {
      dtype: 'fp32',
      device: 'webgpu',
    })) as unknown as TjsModel;
    try {
      if (!ours.engine) throw new Error('the tiny-random pack has no reasoner engine (reasoner weights missing?)');
      const prompt: PreparedPrompt = preparePrompt(ours, {
        messages: understandMessages({ prompt: QUESTION, cot: false }),
        images: 0,
      });
      const fixture = REASONER_BENCH_CASE;
      if (JSON.stringify(prompt.ids) !== JSON.stringify(fixture.inputIds)) {
        throw new Error('the prompt ids differ from the fixture');
      }

      const runOurs = async (path: ReasonerPath, n: number) => {
        const r = await generate(ours, prompt, null, { maxNewTokens: n, hiddenStates: false, reasonerPath: path });
        if (r.path !== path) throw new Error(`asked for the ${path} path, ran ${r.path}`);
        return r.tokenIds;
      };
      const engine = await runOurs('engine', N_LONG);
      const ort = await runOurs('ort', N_LONG);
      const theirTokens = await tjsGenerate(tjs, theirs, prompt.ids, N_LONG);
      report.log(`engine:          ${engine.join(',')}`);
      report.log(`ORT loop:        ${ort.join(',')}`);
      report.log(`transformers.js: ${theirTokens.join(',')}`);
      const same = (a: number[], b: number[]) => JSON.stringify(a) === JSON.stringify(b);
      if (!same(engine, theirTokens) || !same(ort, theirTokens))
        throw new Error('the engine, the ORT loop and transformers.js generate different greedy tokens');
      if (!same(engine, fixture.generatedIds.slice(0, N_LONG)))
        throw new Error('the greedy tokens differ from the PyTorch fixture');

      const impls: Impl[] = [
        { name: `engine ${N_LONG}`, run: async () => void (await runOurs('engine', N_LONG)) },
        { name: `engine ${N_SHORT}`, run: async () => void (await runOurs('engine', N_SHORT)) },
        { name: `ORT loop ${N_LONG}`, run: async () => void (await runOurs('ort', N_LONG)) },
        { name: `ORT loop ${N_SHORT}`, run: async () => void (await runOurs('ort', N_SHORT)) },
        {
          name: `transformers.js ${N_LONG}`,
          run: async () => void (await tjsGenerate(tjs, theirs, prompt.ids, N_LONG)),
        },
        {
          name: `transformers.js ${N_SHORT}`,
          run: async () => void (await tjsGenerate(tjs, theirs, prompt.ids, N_SHORT)),
        },
      ];
      const reps = ctx.reps ?? 5;
      const m = await measureInterleaved(ctx.device, impls, {
        warmup: 1,
        reps,
        onSample: (impl, ms) => report.log(`${impl}: ${ms.toFixed(0)} ms`),
      });
      const steps = N_LONG - N_SHORT;
      const rate = (long: number, short: number) => (steps * 1000) / (m[long]!.medianMs - m[short]!.medianMs);
      const engineRate = rate(0, 1);
      const ortRate = rate(2, 3);
      const theirRate = rate(4, 5);
      report.result({
        name: 'decode',
        sizes:
          `prompt ${prompt.ids.length} tokens, ${steps} decode steps ` +
          `(the difference of ${N_LONG} and ${N_SHORT} new tokens), vocab ${ours.config.vocab_size}, ` +
          `hidden ${ours.config.hidden_size}, ${ours.config.num_hidden_layers} layers`,
        baseline: impls[0]!.name,
        measurements: m,
        notes: [
          `same greedy tokens (${N_LONG}) from the engine, the ORT loop and transformers.js, ` +
            'equal to the PyTorch fixture',
          `decode: engine ${engineRate.toFixed(2)} tokens/s, ORT loop ${ortRate.toFixed(2)} tokens/s, ` +
            `transformers.js ${theirRate.toFixed(2)} tokens/s`,
          `decode speed ratio engine / transformers.js: ${(engineRate / theirRate).toFixed(2)}x (goal 1.3x)`,
          `decode speed ratio ORT loop / transformers.js: ${(ortRate / theirRate).toFixed(2)}x; ` +
            `engine / ORT loop: ${(engineRate / ortRate).toFixed(2)}x`,
        ],
      });
    } finally {
      await theirs.dispose().catch(() => undefined);
      await ours.dispose();
    }
  },
};
