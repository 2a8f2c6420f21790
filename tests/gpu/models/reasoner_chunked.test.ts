// Chunked prefill: the engine prefills a prompt in chunks of `prefillChunk` rows (512 by default, so the fixtures'
// prompts of 25–105 tokens are one chunk elsewhere). Forced down to 7 rows (the image's 16 feature rows cross chunk
// boundaries; the last chunk is shorter) the three PyTorch fixtures, and to 1 row (every prompt row through the
// one-row path, K/V at its cache row; the short prompt only, as it is one pass per row) the plain one, come out
// token for token with the hidden-state checksums of the unchunked run (tests/gpu/models/reasoner.test.ts); the CoT
// prompt's condition rows element by element within the same bound as there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import {
  generate,
  preparePrompt,
  preprocessImage,
  ReasonerModel,
  type GenerationResult,
} from '../../../src/models/reasoner';
import { expectChecksum, fixtureBytes, fixtureF32, fx, GREEDY, tinyRandom } from './reasoner_fixtures';

/** As reasoner.test.ts: SwiftShader's f32 reductions run in another order than PyTorch's. */
const WEBGPU_ATOL = 1e-3;

let device: GPUDevice;

beforeAll(async () => {
  device = await acquireDevice();
});

async function run(model: ReasonerModel, g: (typeof GREEDY)[number]): Promise<[GenerationResult, Float32Array]> {
  const prompt = preparePrompt(model, { messages: g.messages, images: g.image ? 1 : 0 });
  const pixels = g.image
    ? await preprocessImage(
        new Blob([(await fixtureBytes(g.image)) as BlobPart], { type: 'image/png' }),
        model.config.vision!,
      )
    : null;
  const res = await generate(model, prompt, pixels, {
    maxNewTokens: g.max_new_tokens,
    stopIds: [1018, 1016],
    reasonerPath: 'engine',
  });
  const h = await res.hidden!.read();
  res.hidden!.dispose();
  return [res, h];
}

const CASES = [
  [7, GREEDY.map((g) => g.name)],
  [1, ['plain']],
] as const;

describe.each(CASES)('reasoner engine, prefill in chunks of %i rows', (chunk, names) => {
  let model: ReasonerModel;
  beforeAll(async () => {
    model = await ReasonerModel.load(tinyRandom(), { backend: 'webgpu', device }, { prefillChunk: chunk });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  const cases = GREEDY.filter((g) => (names as readonly string[]).includes(g.name)).map((g) => [g.name, g] as const);
  it.each(cases)('greedy %s: the fixture tokens and hidden states', async (_, g) => {
    expect(g.prompt_length).toBeGreaterThan(chunk);
    const [res, h] = await run(model, g);
    expect(res.tokenIds).toEqual(g.generated_ids);
    expect(h.length / model.config.hidden_size).toBe(g.hidden_rows);
    expectChecksum(h, g.hidden_checksum);
    expectChecksum(h.subarray(0, g.prompt_length * model.config.hidden_size), g.prefill_hidden_checksum);
    if (g.name === 'cot') {
      const want = await fixtureF32(fx.imagine.condition.file);
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(h[i]! - want[i]!));
      console.log(`cot, chunks of ${chunk}: max |Δ| vs PyTorch = ${maxDiff.toExponential(2)}`);
      expect(maxDiff).toBeLessThan(WEBGPU_ATOL);
    }
  });

  it('a chunked run leaves no GPU buffer behind', async () => {
    const before = liveBufferCount(device);
    await run(model, cases[0]![1]);
    expect(liveBufferCount(device)).toBe(before);
  });
});
