// The reasoner's WASM fallback (Chromium without WebGPU): the same PyTorch fixtures, tokens and hidden states on the
// CPU (sampling from CPU logits, conditioning as a Float32Array).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../../src/runtime/backend';
import { generate, preparePrompt, preprocessImage, ReasonerModel } from '../../../src/models/reasoner';
import { expectChecksum, fixtureBytes, fixtureF32, GREEDY, tinyRandom } from './reasoner_fixtures';

let model: ReasonerModel;

beforeAll(async () => {
  const choice = await chooseBackend();
  expect(choice.backend).toBe('wasm');
  model = await ReasonerModel.load(tinyRandom(), choice);
});
afterAll(async () => {
  await model?.dispose();
});

describe('reasoner on WASM', () => {
  it.each(GREEDY.map((g) => [g.name, g] as const))('greedy %s: rendered ids, tokens and hidden states equal PyTorch', async (_, g) => {
    const prompt = preparePrompt(model, { messages: g.messages, images: g.image ? 1 : 0 });
    expect(prompt.text).toBe(g.rendered);
    expect(prompt.ids).toEqual(g.input_ids);
    let pixels: Float32Array | null = null;
    if (g.image) {
      pixels = await preprocessImage(new Blob([(await fixtureBytes(g.image)) as BlobPart], { type: 'image/png' }), model.config.vision);
      expect(Array.from(pixels)).toEqual(Array.from(await fixtureF32(g.pixel_values!.file)));
    }
    const res = await generate(model, prompt, pixels, { maxNewTokens: g.max_new_tokens, stopIds: [1018, 1016] });
    expect(res.tokenIds).toEqual(g.generated_ids);
    const h = res.hidden!;
    expect(h.buffer).toBeNull();
    expect(h.cpu).toBeInstanceOf(Float32Array);
    expect(h.rows).toBe(g.hidden_rows);
    expect(h.promptRows).toBe(g.prompt_length);
    expectChecksum(h.cpu!, g.hidden_checksum);
    expectChecksum(h.cpu!.subarray(0, g.prompt_length * h.hidden), g.prefill_hidden_checksum);
    h.dispose();
    expect(h.cpu).toBeNull();
  });
});
