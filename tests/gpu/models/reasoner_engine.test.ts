// The reasoner's WGSL engine against onnxruntime-web's decoder on the same device and the same prompts: same tokens,
// same conditioning (the hidden states the painter reads) for every fixture prompt, with and without an image; stops
// at every position while later steps are already queued; the path option and packs without reasoner weights.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDevice } from '../../../src/gpu/device';
import { RgError } from '../../../src/errors';
import {
  ENGINE_AHEAD,
  generate,
  preparePrompt,
  preprocessImage,
  ReasonerModel,
  understandMessages,
  type PreparedPrompt,
} from '../../../src/models/reasoner';
import type { PackSource } from '../../../src/packs/source';
import { liveBufferCount } from '../../../src/gpu/device';
import { reasonerTensorShapes, uploadReasonerWeights } from '../../../src/models/reasoner/weights';
import { reasonerWeightPaths } from '../../../src/packs/manifest';
import { fixtureBytes, GREEDY, relativeError, tinyRandom } from './reasoner_fixtures';

let model: ReasonerModel;
let device: GPUDevice;
let wasm: ReasonerModel;
let plain: PreparedPrompt;

beforeAll(async () => {
  device = await acquireDevice();
  model = await ReasonerModel.load(tinyRandom(), { backend: 'webgpu', device });
  wasm = await ReasonerModel.load(tinyRandom(), { backend: 'wasm' });
  plain = preparePrompt(model, {
    messages: understandMessages({ prompt: 'What is two plus three?', cot: false }),
    images: 0,
  });
});
afterAll(async () => {
  await model?.dispose();
  await wasm?.dispose();
});

async function bothPaths(
  prompt: PreparedPrompt,
  pixels: Float32Array | null,
  maxNewTokens: number,
  stopIds?: number[],
) {
  const out = [];
  for (const reasonerPath of ['engine', 'ort'] as const) {
    const r = await generate(model, prompt, pixels, { maxNewTokens, stopIds, reasonerPath });
    const hidden = await r.hidden!.read();
    r.hidden!.dispose();
    out.push({ ...r, values: hidden });
  }
  return out as [(typeof out)[0], (typeof out)[0]];
}

describe('reasoner engine vs onnxruntime-web', () => {
  it('the engine is the default on WebGPU for a pack with reasoner weights', () => {
    expect(model.engine).not.toBeNull();
    // the vision encoder on this fallback adapter: WASM (forced onto WebGPU: reasoner_vision_webgpu.test.ts, heavy)
    expect(device.adapterInfo.isFallbackAdapter).toBe(true);
    expect(model.visionBackend).toBe('wasm');
  });

  // onnxruntime-web on SwiftShader is itself ~4e-4 (absolute) from PyTorch (tests/gpu/models/reasoner.test.ts), the
  // engine ~1e-6: against ORT on WebGPU the bound holds over the whole conditioning (‖Δ‖ / ‖ORT‖), element by
  // element it holds against ORT on WASM (max |Δ| / max |ORT|).
  it.each(GREEDY.map((g) => [g.name, g] as const))(
    '%s: same tokens (the PyTorch fixture) and hidden states within 1e-4 relative of ORT',
    async (_, g) => {
      const prompt = preparePrompt(model, { messages: g.messages, images: g.image ? 1 : 0 });
      const pixels = g.image
        ? await preprocessImage(
            new Blob([(await fixtureBytes(g.image)) as BlobPart], { type: 'image/png' }),
            model.config.vision!,
          )
        : null;
      const [engine, ort] = await bothPaths(prompt, pixels, g.max_new_tokens, [1018, 1016]);
      const onWasm = await generate(wasm, prompt, pixels, { maxNewTokens: g.max_new_tokens, stopIds: [1018, 1016] });
      expect(engine.path).toBe('engine');
      expect(ort.path).toBe('ort');
      expect(engine.tokenIds).toEqual(g.generated_ids);
      expect(ort.tokenIds).toEqual(g.generated_ids);
      expect(onWasm.tokenIds).toEqual(g.generated_ids);
      expect(engine.text).toBe(ort.text);
      expect(engine.hidden!.rows).toBe(ort.hidden!.rows);
      expect(engine.hidden!.promptRows).toBe(ort.hidden!.promptRows);
      const gpu = relativeError(engine.values, ort.values);
      const cpu = relativeError(engine.values, await onWasm.hidden!.read());
      console.log(
        `${g.name}: engine vs ORT WebGPU: ‖Δ‖/‖ORT‖ ${gpu.norm.toExponential(2)}, max ${gpu.max.toExponential(2)}; ` +
          `vs ORT WASM: ‖Δ‖/‖ORT‖ ${cpu.norm.toExponential(2)}, max ${cpu.max.toExponential(2)}`,
      );
      expect(gpu.norm).toBeLessThan(1e-4);
      expect(cpu.max).toBeLessThan(1e-4);
    },
  );

  const stopTitle =
    `a stop at every position (with ${ENGINE_AHEAD} steps queued past it) ` +
    'gives the tokens and hidden rows of a run that ends there';
  it(stopTitle, async () => {
    const g = GREEDY.find((x) => x.name === 'plain')!;
    const full = await generate(model, plain, null, { maxNewTokens: 8, reasonerPath: 'engine' });
    const fullHidden = await full.hidden!.read();
    full.hidden!.dispose();
    for (let at = 0; at < 6; at++) {
      const stop = g.generated_ids[at]!;
      const first = g.generated_ids.indexOf(stop);
      const events: number[] = [];
      const r = await generate(model, plain, null, {
        maxNewTokens: 8,
        stopIds: [stop],
        reasonerPath: 'engine',
        onToken: (e) => events.push(e.id),
      });
      expect(r.tokenIds).toEqual(g.generated_ids.slice(0, first + 1));
      expect(events.filter((id) => id >= 0)).toEqual(r.tokenIds);
      expect(r.stopReason).toBe('eos');
      expect(r.hidden!.rows).toBe(plain.ids.length + first);
      const h = await r.hidden!.read();
      r.hidden!.dispose();
      expect(Array.from(h)).toEqual(Array.from(fullHidden.subarray(0, h.length)));
    }
  });

  it('maxNewTokens 1 and 2 (fewer steps than the engine queues ahead)', async () => {
    const g = GREEDY.find((x) => x.name === 'plain')!;
    for (const n of [1, 2]) {
      const [engine, ort] = await bothPaths(plain, null, n);
      expect(engine.tokenIds).toEqual(g.generated_ids.slice(0, n));
      expect(ort.tokenIds).toEqual(engine.tokenIds);
      expect(engine.hidden!.rows).toBe(plain.ids.length + n - 1);
      expect(relativeError(engine.values, ort.values).norm).toBeLessThan(1e-4);
    }
  });

  it('refuses an unknown path, and the engine on WASM, before running anything', async () => {
    await expect(
      generate(model, plain, null, { maxNewTokens: 2, reasonerPath: 'fast' as never }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT', field: 'reasonerPath' });
    expect(wasm.engine).toBeNull();
    const err = await generate(wasm, plain, null, { maxNewTokens: 2, reasonerPath: 'engine' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RgError);
    expect(err).toMatchObject({ code: 'BAD_INPUT', field: 'reasonerPath' });
    expect((err as RgError).message).toContain('needs WebGPU');
    expect((await generate(wasm, plain, null, { maxNewTokens: 2 })).path).toBe('ort');
  });

  it('a pack without reasoner weights runs the ONNX decoder on WebGPU, and refuses the engine', async () => {
    const base = tinyRandom();
    const noWeights: PackSource = {
      id: 'tiny-random-without-reasoner-weights',
      async manifest() {
        const m = structuredClone(await base.manifest());
        delete m.paths.reasoner_weights;
        return m;
      },
      file: (path, onProgress) => {
        if (path.startsWith('reasoner.')) throw new Error(`${path} must not be read`);
        return base.file(path, onProgress);
      },
    };
    const m = await ReasonerModel.load(noWeights, { backend: 'webgpu', device });
    try {
      expect(m.engine).toBeNull();
      const r = await generate(m, plain, null, { maxNewTokens: 4, hiddenStates: false });
      expect(r.path).toBe('ort');
      expect(r.tokenIds).toEqual(GREEDY.find((x) => x.name === 'plain')!.generated_ids.slice(0, 4));
      await expect(generate(m, plain, null, { maxNewTokens: 2, reasonerPath: 'engine' })).rejects.toThrow(
        /no reasoner weights/,
      );
    } finally {
      await m.dispose();
    }
  });

  it('weights that do not match the config are refused (INTEGRITY) and leave no buffer behind', async () => {
    const m = await tinyRandom().manifest();
    const bytes = await tinyRandom().file(reasonerWeightPaths(m.paths).f32!);
    const cfg = m.reasoner;
    expect(reasonerTensorShapes(cfg).size).toBe(3 + cfg.num_hidden_layers * 12);
    const before = liveBufferCount(device);
    const cases: [Partial<typeof cfg>, RegExp][] = [
      [{ intermediate_size: 96 }, /layers\.0\.mlp\.gate_proj\.weight is \[128, 64\], expected \[96, 64\]/],
      [{ tie_word_embeddings: true }, /unexpected tensor lm_head\.weight/],
      [{ attention_bias: false }, /unexpected tensors layers\.0\.self_attn\.k_proj\.bias/],
      [{ num_hidden_layers: 3 }, /missing tensor layers\.2\.input_layernorm\.weight/],
    ];
    for (const [change, message] of cases) {
      let err: unknown;
      try {
        uploadReasonerWeights(device, bytes, { ...cfg, ...change }).dispose();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RgError);
      expect(err).toMatchObject({ code: 'INTEGRITY' });
      expect((err as Error).message).toMatch(message);
    }
    expect(liveBufferCount(device)).toBe(before);
    const ok = uploadReasonerWeights(device, bytes, cfg);
    expect(ok.bytes).toBe(bytes.byteLength - 8 - new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true));
    ok.dispose();
    expect(liveBufferCount(device)).toBe(before);
  });
});
