// The Qwen2 ONNX graph built in code from int4 weights (MatMulNBits on the bytes as stored), run by transformers.js
// generate() on WebGPU, against our engine on the same int4 weights: the tiny-random reasoner quantised to int4,
// the GREEDY `plain` prompt, greedy ids equal and the prompt's last logits within a stated bound, for the fused
// graph (SimplifiedLayerNormalization, GroupQueryAttention with its own rotary), the plain-ops graph (RoPE from
// position_ids, causal mask, concatenated past) and the GatherBlockQuantized embedding.
import { beforeAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { GpuBatch } from '../../../src/gpu/batch';
import { ReasonerEngine } from '../../../src/models/reasoner/engine';
import { resolveSampling } from '../../../src/models/reasoner/sampling';
import { uploadReasonerWeights } from '../../../src/models/reasoner/weights';
import { reasonerWeightPaths, type ReasonerConfig } from '../../../src/packs/manifest';
import { RgError } from '../../../src/errors';
import { buildQwen2Onnx, qwen2HfConfig, type Qwen2OnnxOptions } from '../../../src/bench/qwen2_onnx';
import { int4Safetensors, int4Shapes, int4TensorsFromF32 } from '../../../src/bench/qwen2_int4';
import { parseSafetensors, tensorData } from '../../../src/packs/safetensors';
import { linearData } from '../../../src/models/layers/weights';
import { engineGreedy } from '../../../src/bench/qwen2';
import { loadTjsQwen2 } from '../../../src/bench/tjs_qwen2';
import { GREEDY, tinyRandom } from '../models/reasoner_fixtures';

const g = GREEDY.find((x) => x.name === 'plain')!;
const N = 8;

let device: GPUDevice;
let cfg: ReasonerConfig;
let f32File: Uint8Array;
let ours: { ids: number[]; logits: Float32Array };

/** max |a − b| / max |b|. */
function relMax(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
}

beforeAll(async () => {
  device = await acquireDevice();
  const m = await tinyRandom().manifest();
  cfg = m.reasoner;
  f32File = await tinyRandom().file(reasonerWeightPaths(m.paths).f32!);
  // Our engine on the f32 file quantised to int4 at load (the app's own path).
  const before = liveBufferCount(device);
  const engine = new ReasonerEngine(
    device,
    uploadReasonerWeights(device, f32File, cfg, 'tiny-random', { format: 'int4' }),
    cfg,
  );
  try {
    const r = engine.run(g.input_ids, 1, 1);
    const b = new GpuBatch(device, 'prefill');
    r.encodePrefill(b, resolveSampling({ temperature: 0 }), null);
    b.submit();
    await r.read(0);
    const logits = await r.readLogits();
    r.dispose();
    ours = { ids: await engineGreedy(engine, g.input_ids, N), logits };
  } finally {
    engine.dispose();
  }
  expect(liveBufferCount(device)).toBe(before);
});

describe('a Qwen2 ONNX with MatMulNBits on our int4 weights, run by transformers.js generate()', () => {
  // Both sides multiply the same int4 weights in f32; what differs is the order of the sums, cos/sin and the
  // softmax: measured 3.7e-7 (fused) and 4.1e-7 (plain) of the largest logit, logged. 1e-5 leaves room and still
  // fails on any real error: a wrong nibble order, RoPE θ or kv-head mapping moves the logits by tens of percent.
  const BOUND = 1e-5;
  // Each graph costs transformers.js 15–35 s of shader compiles on software WebGPU: `npm test` runs the fused graph
  // (the one the benchmark times); `npm run test:qwen2-onnx` runs all three.
  const ALL: [string, Qwen2OnnxOptions][] = [
    ['fused graph', { graph: 'fused' }],
    ['plain-ops graph', { graph: 'plain' }],
    ['fused graph, GatherBlockQuantized embedding', { graph: 'fused', embedding: 'quantized' }],
  ];
  const CASES = import.meta.env.VITE_QWEN2_ONNX_ALL ? ALL : ALL.slice(0, 1);
  it.each(CASES)('%s: the engine’s greedy ids, last logits within the bound', { timeout: 120_000 }, async (_, opts) => {
    const onnx = buildQwen2Onnx(cfg, int4TensorsFromF32(f32File), opts);
    const tjs = await loadTjsQwen2(onnx, qwen2HfConfig(cfg));
    try {
      const logits = await tjs.lastLogits(g.input_ids);
      const ids = await tjs.generate(g.input_ids, N);
      const err = relMax(logits, ours.logits);
      console.log(`transformers.js int4 (${JSON.stringify(opts)}): logits err ${err.toExponential(2)}; ids ${ids}`);
      expect(logits.length).toBe(cfg.vocab_size);
      expect(err).toBeLessThan(BOUND);
      expect(ids).toEqual(ours.ids);
    } finally {
      await tjs.dispose();
    }
  });

  it('the int4 file written from the tensors holds their bytes, and the loader takes it as stored', () => {
    const tensors = int4TensorsFromF32(f32File);
    const file = int4Safetensors(cfg, tensors);
    const st = parseSafetensors(file, 'written int4');
    let matrices = 0;
    for (const [name, shape] of int4Shapes(cfg)) {
      const t = tensors(name);
      if (shape.length === 2) {
        matrices++;
        expect(linearData(file, st, name.slice(0, -'.weight'.length)), name).toEqual(t);
      } else expect(tensorData(file, st, name, 'F32'), name).toEqual(t);
    }
    expect(matrices).toBe(2 + 7 * cfg.num_hidden_layers);
    const before = liveBufferCount(device);
    const stored = uploadReasonerWeights(device, file, cfg, 'written int4');
    try {
      expect(stored.format).toBe('int4');
    } finally {
      stored.dispose();
    }
    expect(liveBufferCount(device)).toBe(before);
  });

  it('refuses a matrix that is not int4, naming the tensor', () => {
    const tensors = int4TensorsFromF32(f32File);
    const bad = (name: string) => {
      const t = tensors(name);
      if (name === 'layers.1.mlp.up_proj.weight' && !(t instanceof Float32Array))
        return { format: 'f32' as const, out: t.out, in: t.in, weight: new Float32Array(t.out * t.in) };
      return t;
    };
    let err: unknown;
    try {
      buildQwen2Onnx(cfg, bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RgError);
    expect(err).toMatchObject({ code: 'BAD_INPUT', field: 'layers.1.mlp.up_proj.weight' });
    expect((err as Error).message).toBe(
      'buildQwen2Onnx: tensor layers.1.mlp.up_proj.weight is f32; MatMulNBits needs int4',
    );
  });
});
