/**
 * @file transformers.js running a Qwen2 ONNX graph built in memory (src/bench/qwen2_onnx.ts): the files it asks for
 * (config.json, generation_config.json, onnx/model_q4.onnx for `dtype: 'q4'`) are answered from memory through its
 * custom cache, so nothing is written or fetched. The model runs on transformers.js's own WebGPU device and its own
 * onnxruntime-web build, as in src/bench/reasoner.ts.
 */
import { loadTransformers } from './reasoner';

interface TjsTensor {
  data: ArrayLike<number | bigint>;
  dims: number[];
  location?: string;
  dispose?: () => void;
}
interface TjsModel {
  generate(args: Record<string, unknown>): Promise<unknown>;
  forward(args: Record<string, unknown>): Promise<Record<string, TjsTensor>>;
  dispose(): Promise<unknown>;
}

export interface TjsQwen2 {
  /** The `maxNew` tokens greedy `generate()` draws after `ids` (no eos: always `maxNew`). */
  generate(ids: readonly number[], maxNew: number): Promise<number[]>;
  /** One forward pass over `ids` from an empty cache: the logits of the last position. */
  lastLogits(ids: readonly number[]): Promise<Float32Array>;
  dispose(): Promise<void>;
}

let loads = 0;

/**
 * Loads `onnx` (the bytes of buildQwen2Onnx) with its `config` (qwen2HfConfig) in transformers.js on WebGPU.
 * transformers.js's env is changed only while it loads and put back after.
 */
export async function loadTjsQwen2(
  onnx: Uint8Array,
  config: Record<string, unknown>,
  sessionOptions?: Record<string, unknown>,
): Promise<TjsQwen2> {
  const modelsBase = new URL('/models/', location.href).href;
  const tjs = await loadTransformers(modelsBase);
  const env = tjs.env;
  // A model id of its own per load, so a file of an earlier model is never answered for this one.
  const id = `rg-bench/qwen2-int4-${++loads}`;
  const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const files = new Map<string, Uint8Array>([
    ['config.json', json(config)],
    // No eos and no sampling: generate() draws exactly max_new_tokens greedily.
    ['generation_config.json', json({ do_sample: false })],
    ['onnx/model_q4.onnx', onnx],
  ]);
  const cache = {
    async match(request: string): Promise<Response | undefined> {
      const at = request.indexOf(`${id}/`);
      const file = at < 0 ? undefined : files.get(request.slice(at + id.length + 1));
      return file ? new Response(file as Uint8Array<ArrayBuffer>) : undefined;
    },
    async put(): Promise<void> {},
  };
  const saved = {
    useCustomCache: env.useCustomCache,
    customCache: env.customCache,
    fetch: env.fetch,
  };
  let model: TjsModel;
  try {
    env.useCustomCache = true;
    env.customCache = cache;
    // Every file comes from the cache; nothing may fall through to the server.
    env.fetch = (url: string | URL) => Promise.reject(new Error(`transformers.js asked for ${String(url)}`));
    model = (await tjs.AutoModelForCausalLM.from_pretrained(id, {
      dtype: 'q4',
      device: 'webgpu',
      session_options: sessionOptions,
    })) as unknown as TjsModel;
  } finally {
    Object.assign(env, saved);
  }
  const ids64 = (ids: readonly number[]) => ({
    input_ids: new tjs.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
    attention_mask: new tjs.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
  });
  return {
    async generate(ids, maxNew) {
      const out = (await model.generate({ ...ids64(ids), max_new_tokens: maxNew, do_sample: false })) as TjsTensor;
      const all = Array.from(out.data, Number);
      return all.slice(ids.length);
    },
    async lastLogits(ids) {
      const out = await model.forward(ids64(ids));
      try {
        const logits = out.logits!;
        const V = logits.dims.at(-1)!;
        return Float32Array.from(logits.data as Float32Array).slice((ids.length - 1) * V, ids.length * V);
      } finally {
        // The present K/V stay on the GPU until released.
        for (const t of Object.values(out)) if (t.location === 'gpu-buffer') t.dispose?.();
      }
    },
    async dispose() {
      await model.dispose();
    },
  };
}
