// The reasoner on real Chromium WebGPU (SwiftShader): PyTorch fixtures reproduced token for token, the KV cache and
// conditioning kept on the GPU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { generate, preparePrompt, preprocessImage, ReasonerModel } from '../../../src/models/reasoner';
import { expectChecksum, fixtureBytes, fixtureF32, GREEDY, tinyRandom } from './reasoner_fixtures';

let model: ReasonerModel;
let device: GPUDevice;

beforeAll(async () => {
  device = await acquireDevice();
  model = await ReasonerModel.load(tinyRandom(), { backend: 'webgpu', device });
});
afterAll(async () => {
  await model?.dispose();
});

describe('reasoner on WebGPU', () => {
  it.each(GREEDY.map((g) => [g.name, g] as const))('greedy %s: rendered ids, tokens and hidden states equal PyTorch', async (_, g) => {
    const prompt = preparePrompt(model, { messages: g.messages, images: g.image ? 1 : 0 });
    expect(prompt.text).toBe(g.rendered);
    expect(prompt.ids).toEqual(g.input_ids);
    let pixels: Float32Array | null = null;
    if (g.image) {
      pixels = await preprocessImage(new Blob([await fixtureBytes(g.image) as BlobPart], { type: 'image/png' }), model.config.vision);
      expect(Array.from(pixels)).toEqual(Array.from(await fixtureF32(g.pixel_values!.file)));
    }
    const res = await generate(model, prompt, pixels, { maxNewTokens: g.max_new_tokens, stopIds: [1018, 1016] });
    expect(res.tokenIds).toEqual(g.generated_ids);
    expect(res.hidden!.buffer).not.toBeNull();
    expect(res.hidden!.rows).toBe(g.hidden_rows);
    const h = await res.hidden!.read();
    expectChecksum(h, g.hidden_checksum);
    expectChecksum(h.subarray(0, g.prompt_length * model.config.hidden_size), g.prefill_hidden_checksum);
    res.hidden!.dispose();
    console.log(g.name, res.timings);
  });
});
