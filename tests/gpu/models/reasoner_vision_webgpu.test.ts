// The reasoner's vision encoder forced onto onnxruntime-web's WebGPU backend (heavy: its shader compiles take ~9 s on
// SwiftShader; `npm run test:heavy`, or VITE_REASONER_VISION_WEBGPU=1). On this fallback adapter the encoder runs on
// WASM by default (tests/gpu/models/reasoner_engine.test.ts runs that path on the same fixture); forced onto WebGPU,
// its features stay a GPU tensor and give the same tokens and conditioning through both decoder paths.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { acquireDevice } from '../../../src/gpu/device';
import { generate, preparePrompt, preprocessImage, ReasonerModel } from '../../../src/models/reasoner';
import { fixtureBytes, GREEDY, relativeError, tinyRandom } from './reasoner_fixtures';

let model: ReasonerModel;
let device: GPUDevice;

beforeAll(async () => {
  device = await acquireDevice();
  model = await ReasonerModel.load(tinyRandom(), { backend: 'webgpu', device });
});
afterAll(async () => {
  await model?.dispose();
});

const visionTitle =
  'the vision encoder runs on WASM on this fallback adapter; forced onto WebGPU (features stay a GPU tensor) ' +
  'it gives the same tokens and conditioning';
it(visionTitle, async () => {
  expect(device.adapterInfo.isFallbackAdapter).toBe(true);
  expect(model.visionBackend).toBe('wasm');
  const g = GREEDY.find((x) => x.image)!;
  const prompt = preparePrompt(model, { messages: g.messages, images: 1 });
  const blob = new Blob([(await fixtureBytes(g.image!)) as BlobPart], { type: 'image/png' });
  const pixels = await preprocessImage(blob, model.config.vision!);
  const onGpu = await ReasonerModel.load(tinyRandom(), { backend: 'webgpu', device }, { vision: 'webgpu' });
  try {
    expect(onGpu.visionBackend).toBe('webgpu');
    for (const reasonerPath of ['engine', 'ort'] as const) {
      const opts = { maxNewTokens: g.max_new_tokens, stopIds: [1018, 1016], reasonerPath };
      const a = await generate(onGpu, prompt, pixels, opts);
      const b = await generate(model, prompt, pixels, opts);
      expect(a.tokenIds).toEqual(g.generated_ids);
      expect(b.tokenIds).toEqual(g.generated_ids);
      const va = await a.hidden!.read();
      const vb = await b.hidden!.read();
      a.hidden!.dispose();
      b.hidden!.dispose();
      expect(relativeError(va, vb).norm, reasonerPath).toBeLessThan(1e-4);
    }
  } finally {
    await onGpu.dispose();
  }
});
