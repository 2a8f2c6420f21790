// The reasoner's WASM fallback (Chromium without WebGPU): the same PyTorch fixtures, tokens and hidden states on the
// CPU (sampling from CPU logits, conditioning as a Float32Array).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../../../src/errors';
import { chooseBackend, type BackendChoice } from '../../../src/runtime/backend';
import {
  generate,
  preparePrompt,
  preprocessImage,
  ReasonerModel,
  understandMessages,
} from '../../../src/models/reasoner';
import { understand } from '../../../src/pipeline/understand';
import type { RgEvent } from '../../../src/worker/api';
import { expectChecksum, fixtureBytes, fixtureF32, fx, GREEDY, tinyRandom } from './reasoner_fixtures';

let model: ReasonerModel;
let choice: BackendChoice;

beforeAll(async () => {
  choice = await chooseBackend();
  expect(choice.backend).toBe('wasm');
  model = await ReasonerModel.load(tinyRandom(), choice);
});
afterAll(async () => {
  await model?.dispose();
});

describe('reasoner on WASM', () => {
  it.each(GREEDY.map((g) => [g.name, g] as const))(
    'greedy %s: rendered ids, tokens and hidden states equal PyTorch',
    async (_, g) => {
      const prompt = preparePrompt(model, { messages: g.messages, images: g.image ? 1 : 0 });
      expect(prompt.text).toBe(g.rendered);
      expect(prompt.ids).toEqual(g.input_ids);
      let pixels: Float32Array | null = null;
      if (g.image) {
        pixels = await preprocessImage(
          new Blob([(await fixtureBytes(g.image)) as BlobPart], { type: 'image/png' }),
          model.config.vision!,
        );
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
      if (g.name === 'cot') {
        const want = await fixtureF32(fx.imagine.condition.file);
        let maxDiff = 0;
        for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(h.cpu![i]! - want[i]!));
        console.log(`cot condition vs PyTorch (WASM): max |Δ| = ${maxDiff.toExponential(2)}`);
        expect(maxDiff).toBeLessThan(1e-4);
      }
      h.dispose();
      expect(h.cpu).toBeNull();
    },
  );

  it("a row stop (MindOmni's </answer>) gets its own condition row, equal to PyTorch", async () => {
    const rs = fx.row_stop;
    const g = GREEDY.find((x) => x.name === rs.greedy)!;
    const prompt = preparePrompt(model, { messages: g.messages, images: 0 });
    const res = await generate(model, prompt, null, {
      maxNewTokens: 16,
      stopIds: [rs.stop_id],
      rowStopIds: [rs.stop_id],
    });
    expect(res.tokenIds).toEqual(rs.generated_ids);
    const h = res.hidden!;
    expect(h.rows).toBe(g.prompt_length + rs.step + 1);
    expectChecksum(h.cpu!, rs.hidden_checksum);
    expectChecksum(h.cpu!.subarray((h.rows - 1) * h.hidden), rs.last_row_checksum);
    h.dispose();
  });

  const cancelTitle =
    'cancel mid-stream throws CancelledError; the next run equals an uninterrupted one (tokens and hidden states)';
  it(cancelTitle, async () => {
    const prompt = preparePrompt(model, {
      messages: understandMessages({ prompt: 'What is two plus three?', cot: false }),
      images: 0,
    });
    const whole = await generate(model, prompt, null, { maxNewTokens: 8 });
    const c = new AbortController();
    let n = 0;
    await expect(
      generate(model, prompt, null, {
        maxNewTokens: 8,
        signal: c.signal,
        onToken: () => void (++n === 3 && c.abort()),
      }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(n).toBe(3);
    const again = await generate(model, prompt, null, { maxNewTokens: 8 });
    expect(again.tokenIds).toEqual(whole.tokenIds);
    expect(Array.from(again.hidden!.cpu!)).toEqual(Array.from(whole.hidden!.cpu!));
  });

  it('seeded sampling is reproducible and follows the seed', async () => {
    const prompt = preparePrompt(model, {
      messages: understandMessages({ prompt: 'What is two plus three?', cot: false }),
      images: 0,
    });
    const opts = { maxNewTokens: 6, temperature: 0.9, topK: 40, topP: 0.95, seed: 1234, hiddenStates: false };
    const a = await generate(model, prompt, null, opts);
    expect((await generate(model, prompt, null, opts)).tokenIds).toEqual(a.tokenIds);
    expect((await generate(model, prompt, null, { ...opts, seed: 99 })).tokenIds).not.toEqual(a.tokenIds);
  });

  it('the Understand pipeline runs on WASM: image question, streamed events, fixture tokens', async () => {
    const g = GREEDY.find((x) => x.name === 'image')!;
    const events: RgEvent[] = [];
    const png = await fixtureBytes('understand_image.png');
    const r = await understand(
      {
        runId: 'w',
        pack: 'tiny-random',
        prompt: 'How many shapes are in this picture?',
        image: png,
        cot: false,
        maxNewTokens: 16,
      },
      (e) => void events.push(e),
      { source: tinyRandom(), choice },
    );
    expect(r.backend).toBe('wasm');
    expect(r.tokenIds).toEqual(g.generated_ids);
    expect(events.flatMap((e) => (e.type === 'token' ? [e.text] : [])).join('')).toBe(g.generated_text);
    expect(events.at(-1)).toEqual({ type: 'done' });
  });
});
