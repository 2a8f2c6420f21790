// The reasoner on real Chromium WebGPU (SwiftShader), on both decoder paths (our WGSL engine, the default here, and
// onnxruntime-web's): PyTorch fixtures reproduced token for token with the KV cache and the conditioning kept on the
// GPU; seeded GPU sampling equal to its CPU twin on WASM; cancel at any token leaves nothing behind and the next run
// is identical; 20 runs hold no more GPU buffers than 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount, liveBufferLabels } from '../../../src/gpu/device';
import { CancelledError } from '../../../src/errors';
import {
  generate as generateAny,
  prefill,
  preparePrompt,
  preprocessImage,
  ReasonerModel,
  negativeMessages,
  understandMessages,
  type GenerateOptions,
  type GenerationResult,
  type PreparedPrompt,
  type ReasonerPath,
} from '../../../src/models/reasoner';
import { expectChecksum, fixtureBytes, fixtureF32, fx, GREEDY, tinyRandom } from './reasoner_fixtures';

/**
 * Element-wise tolerance of the hidden states on WebGPU against PyTorch (values of order 1 before the final norm;
 * measured ≈ 4e-4 on SwiftShader, whose f32 reductions run in another order; WASM stays below 1e-4).
 */
const WEBGPU_ATOL = 1e-3;

let model: ReasonerModel;
let device: GPUDevice;
let plain: PreparedPrompt;

beforeAll(async () => {
  device = await acquireDevice();
  model = await ReasonerModel.load(tinyRandom(), { backend: 'webgpu', device });
  plain = preparePrompt(model, {
    messages: understandMessages({ prompt: 'What is two plus three?', cot: false }),
    images: 0,
  });
});
afterAll(async () => {
  await model?.dispose();
});

/** Runs `generate`, aborting once `cancelAt` tokens have streamed (the run must then throw CancelledError). */
async function cancelledRun(
  prompt: PreparedPrompt,
  opts: GenerateOptions & { reasonerPath: ReasonerPath },
  cancelAt: number,
): Promise<number> {
  const c = new AbortController();
  let seen = 0;
  await expect(
    generateAny(model, prompt, null, {
      ...opts,
      signal: c.signal,
      onToken: () => {
        if (++seen === cancelAt) c.abort();
      },
    }),
  ).rejects.toBeInstanceOf(CancelledError);
  return seen;
}

function absSum(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += Math.abs(v);
  return s;
}

async function hiddenOf(r: GenerationResult): Promise<Float32Array> {
  const h = await r.hidden!.read();
  r.hidden!.dispose();
  return h;
}

describe.each(['engine', 'ort'] as const)('reasoner on WebGPU, %s path', (reasonerPath) => {
  const generate = (m: ReasonerModel, p: PreparedPrompt, px: Float32Array | null, o: GenerateOptions) =>
    generateAny(m, p, px, { reasonerPath, ...o });

  // The ORT path's greedy runs of these fixtures are checked in reasoner_engine.test.ts (its tokens equal PyTorch's,
  // its hidden states within 1e-4 of the engine's, which equal PyTorch's here): here the engine's only.
  const greedyCases = reasonerPath === 'engine' ? GREEDY : [];
  it.each(greedyCases.map((g) => [g.name, g] as const))(
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
      expect(res.path).toBe(reasonerPath);
      expect(res.tokenIds).toEqual(g.generated_ids);
      expect(res.stopReason).toBe('max_new_tokens');
      // The conditioning lives in one GPU buffer of exactly rows x hidden f32
      // (docs/formats.md: prompt + generated - 1).
      const h = res.hidden!;
      expect(h.buffer).not.toBeNull();
      expect(h.cpu).toBeNull();
      expect(h.rows).toBe(g.hidden_rows);
      expect(h.promptRows).toBe(g.prompt_length);
      expect(h.buffer!.size).toBe(h.rows * h.hidden * 4);
      const values = await h.read();
      expectChecksum(values, g.hidden_checksum);
      expectChecksum(values.subarray(0, g.prompt_length * h.hidden), g.prefill_hidden_checksum);
      // MindOmni's condition is the last layer's output before the final norm: the post-norm rows differ.
      expect(Math.abs(absSum(values) - g.post_norm_hidden_checksum.abs_sum)).toBeGreaterThan(100);
      if (g.name === 'cot') {
        // The CoT prompt is the Imagine fixture's reasoner run: its condition is stored element by element.
        const want = await fixtureF32(fx.imagine.condition.file);
        let maxDiff = 0;
        for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(values[i]! - want[i]!));
        console.log(`cot condition vs PyTorch: max |Δ| = ${maxDiff.toExponential(2)}`);
        expect(maxDiff).toBeLessThan(WEBGPU_ATOL);
      }
      h.dispose();
      expect(h.buffer).toBeNull();
      console.log(
        `${g.name}: decode ${res.timings.decodeTokensPerSecond.toFixed(2)} tokens/s, ` +
          `prefill ${res.timings.prefillMs.toFixed(0)} ms`,
      );
    },
  );

  it('the CoT fixture through the prompt builder: same messages as the tools', () => {
    const cot = GREEDY.find((g) => g.name === 'cot')!;
    const img = GREEDY.find((g) => g.name === 'image')!;
    const p1 = preparePrompt(model, {
      messages: understandMessages({ prompt: 'What is two plus three?', cot: false }),
      images: 0,
    });
    expect(p1.ids).toEqual(GREEDY.find((g) => g.name === 'plain')!.input_ids);
    const p2 = preparePrompt(model, {
      messages: understandMessages({ prompt: 'How many shapes are in this picture?', cot: false, image: true }),
      images: 1,
    });
    expect(p2.ids).toEqual(img.input_ids);
    expect(cot.messages[1]!.content).toBe(
      'Generate an image according to the following instructions\ndraw the result of 3 apples plus 2 apples',
    );
  });

  const negativeTitle =
    "prefill() gives the negative condition: app.py's turn (plain system prompt, instruction prefix, MindOmni's " +
    'negative text), prefill only, equal to the fixture';
  it(negativeTitle, async () => {
    const neg = fx.negative;
    const m = model.manifest;
    expect(m.prompts.negative_instruction_prefix).toBe(true);
    const prompt = preparePrompt(model, {
      messages: negativeMessages(m.prompts.negative_prompt, m.prompts.negative_instruction_prefix),
      images: 0,
    });
    expect(prompt.text).toBe(neg.rendered);
    expect(prompt.ids).toEqual(neg.input_ids);
    const h = await prefill(model, prompt, null, undefined, reasonerPath);
    expect(h.rows).toBe(neg.condition_length);
    expect(h.promptRows).toBe(neg.condition_length);
    const values = await h.read();
    h.dispose();
    expectChecksum(values, neg.checksum);
    const want = await fixtureF32(neg.condition.file);
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(values[i]! - want[i]!));
    console.log(`negative condition vs PyTorch: max |Δ| = ${maxDiff.toExponential(2)}`);
    expect(maxDiff).toBeLessThan(WEBGPU_ATOL);
  });

  const cancelTitle =
    'cancel mid-stream frees everything, and the next run equals an uninterrupted one (tokens, text, hidden states)';
  it(cancelTitle, async () => {
    const opts = { maxNewTokens: 8, reasonerPath };
    const whole = await generate(model, plain, null, opts);
    const wholeHidden = await hiddenOf(whole);
    const before = liveBufferCount(device);
    for (const at of [1, 4]) {
      expect(await cancelledRun(plain, opts, at)).toBe(at);
      expect(liveBufferCount(device)).toBe(before);
    }
    const again = await generate(model, plain, null, opts);
    expect(again.tokenIds).toEqual(whole.tokenIds);
    expect(again.text).toBe(whole.text);
    expect(Array.from(await hiddenOf(again))).toEqual(Array.from(wholeHidden));
    // An already-aborted signal never starts.
    const c = new AbortController();
    c.abort();
    await expect(generate(model, plain, null, { ...opts, signal: c.signal })).rejects.toBeInstanceOf(CancelledError);
  });

  // The ORT path shares the engine's sampler, stop and row-stop logic (src/models/reasoner/generate.ts); it is
  // checked here on the negative prefill and a cancel (its greedy runs: reasoner_engine.test.ts). The rest runs on the
  // engine only, which is the default path, to keep `npm test` inside its time.
  if (reasonerPath === 'engine') {
    const stopTitle =
      'a stop token mid-stream ends the run with prompt + generated - 1 hidden rows, ' +
      "equal to the longer run's first rows";
    it(stopTitle, async () => {
      const g = GREEDY.find((x) => x.name === 'plain')!;
      const full = await generate(model, plain, null, { maxNewTokens: 8 });
      const fullHidden = await hiddenOf(full);
      const stop = g.generated_ids[2]!;
      const cut = await generate(model, plain, null, { maxNewTokens: 8, stopIds: [stop] });
      expect(cut.tokenIds).toEqual(g.generated_ids.slice(0, 3));
      expect(cut.stopReason).toBe('eos');
      expect(cut.hidden!.rows).toBe(plain.ids.length + 2);
      const h = await hiddenOf(cut);
      expect(Array.from(h)).toEqual(Array.from(fullHidden.subarray(0, h.length)));
    });

    it.each([16, fx.row_stop.step + 1])(
      "a row stop (MindOmni's </answer>) gets its own condition row, equal to PyTorch (max new tokens %i)",
      async (maxNewTokens) => {
        const rs = fx.row_stop;
        const g = GREEDY.find((x) => x.name === rs.greedy)!;
        const prompt = preparePrompt(model, { messages: g.messages, images: 0 });
        const ids = { stopIds: [rs.stop_id], rowStopIds: [rs.stop_id] };
        const res = await generate(model, prompt, null, { maxNewTokens, ...ids });
        expect(res.tokenIds).toEqual(rs.generated_ids);
        expect(res.hidden!.rows).toBe(g.prompt_length + rs.step + 1);
        const h = await hiddenOf(res);
        expectChecksum(h, rs.hidden_checksum);
        expectChecksum(h.subarray(h.length - model.config.hidden_size), rs.last_row_checksum);
        // Without the row stop the same run has one row less, and the rows it has are the same.
        const plainStop = await generate(model, prompt, null, { maxNewTokens, stopIds: [rs.stop_id] });
        expect(plainStop.hidden!.rows).toBe(g.prompt_length + rs.step);
        expect(Array.from(await hiddenOf(plainStop))).toEqual(
          Array.from(h.subarray(0, h.length - h.length / res.hidden!.rows)),
        );
      },
    );

    it('seeded sampling on the GPU picks what its CPU twin picks on WASM; the seed decides the tokens', async () => {
      const opts = { maxNewTokens: 6, temperature: 0.9, topK: 40, topP: 0.95, seed: 1234, hiddenStates: false };
      const a = await generate(model, plain, null, opts);
      const b = await generate(model, plain, null, opts);
      expect(b.tokenIds).toEqual(a.tokenIds);
      const c = await generate(model, plain, null, { ...opts, seed: 99 });
      expect(c.tokenIds).not.toEqual(a.tokenIds);
      const wasm = await ReasonerModel.load(tinyRandom(), { backend: 'wasm' });
      try {
        expect((await generateAny(wasm, plain, null, opts)).tokenIds).toEqual(a.tokenIds);
        expect((await generateAny(wasm, plain, null, { ...opts, seed: 99 })).tokenIds).toEqual(c.tokenIds);
      } finally {
        await wasm.dispose();
      }
    });

    it('live GPU buffers after 20 runs (completed, cancelled, sampled) equal those after 1', async () => {
      const opts = { maxNewTokens: 3, reasonerPath };
      await hiddenOf(await generate(model, plain, null, opts));
      const after1 = liveBufferCount(device);
      const labels1 = liveBufferLabels(device).sort();
      for (let i = 1; i < 20; i++) {
        if (i % 5 === 0) await cancelledRun(plain, opts, 2);
        else if (i % 3 === 0)
          await generate(model, plain, null, { ...opts, temperature: 0.7, seed: i, hiddenStates: false });
        else await hiddenOf(await generate(model, plain, null, opts));
      }
      expect(liveBufferLabels(device).sort()).toEqual(labels1);
      expect(liveBufferCount(device)).toBe(after1);
    });
  }
});
