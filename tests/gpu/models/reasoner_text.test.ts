// The reasoner's CPU side, in the browser: streaming text deltas and phases, completion parsing and the format
// regex, prompts, custom chat templates, and the image processor's decoding, limits and resizing.
import { beforeAll, describe, expect, it } from 'vitest';
import { RgError } from '../../../src/errors';
import {
  decodeImage,
  FORMAT_REGEX,
  imagineMessages,
  INSTRUCTION_PREFIX,
  loadReasonerText,
  MAX_IMAGE_BYTES,
  MAX_IMAGE_PIXELS,
  parseCompletion,
  preparePrompt,
  preprocessImage,
  SYSTEM_PROMPT_COT,
  SYSTEM_PROMPT_PLAIN,
  understandMessages,
  type ReasonerText,
} from '../../../src/models/reasoner';
import { TokenStream, type TokenEvent } from '../../../src/models/reasoner/stream';
import { fixtureBytes, fixtureF32, fx, GREEDY, tinyRandom } from './reasoner_fixtures';

let text: ReasonerText;
beforeAll(async () => {
  text = await loadReasonerText(tinyRandom());
});

/** Expects `fn` to throw (or reject with) RgError BAD_INPUT on `field`; returns the error. */
async function badInput(fn: () => unknown, field: string): Promise<RgError> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a BAD_INPUT error').toBeInstanceOf(RgError);
  expect((err as RgError).code).toBe('BAD_INPUT');
  expect((err as RgError).field).toBe(field);
  return err as RgError;
}

describe('prompts', () => {
  it('are exactly the ones docs/formats.md quotes (and the pack manifest carries)', () => {
    expect(SYSTEM_PROMPT_COT).toBe(text.manifest.prompts.system_cot);
    expect(SYSTEM_PROMPT_PLAIN).toBe(text.manifest.prompts.system_plain);
    expect(INSTRUCTION_PREFIX).toBe(text.manifest.prompts.instruction_prefix);
    const cot = GREEDY.find((g) => g.name === 'cot')!;
    expect(imagineMessages({ prompt: fx.imagine.prompt, cot: true })).toEqual(cot.messages);
  });

  it('are overridable per call', () => {
    const m = imagineMessages({
      prompt: 'a cat',
      cot: true,
      prompts: { systemCot: 'Think first.', userPrefix: 'Draw: ' },
    });
    expect(m).toEqual([
      { role: 'system', content: 'Think first.' },
      { role: 'user', content: 'Draw: a cat' },
    ]);
    expect(understandMessages({ prompt: 'why?', cot: false, prompts: { systemPlain: 'Be brief.' } })[0]!.content).toBe(
      'Be brief.',
    );
  });
});

describe('token stream', () => {
  function run(ids: number[], initial: 'thinking' | 'answering' = 'thinking') {
    const st = text.config.special_tokens;
    const events: TokenEvent[] = [];
    const phases: string[] = [];
    const stream = new TokenStream(
      text.tokenizer,
      st,
      new Set([st.im_end, st.endoftext, st.answer_end!]),
      initial,
      (e) => events.push(e),
      (p) => phases.push(p),
    );
    for (const id of ids) stream.push(id);
    stream.finish();
    return { events, phases };
  }

  it('moves from thinking to answering at </think>, with every delta in the phase it was written in', () => {
    const completion = '<think> 3 red + 2 blue = 5 </think><answer> 5 shapes </answer>';
    const ids = text.tokenizer.encode(completion);
    const { events, phases } = run(ids);
    expect(phases).toEqual(['answering']);
    const by = (p: string) =>
      events
        .filter((e) => e.phase === p)
        .map((e) => e.text)
        .join('');
    expect(by('thinking')).toBe(' 3 red + 2 blue = 5 ');
    expect(by('answering')).toBe(' 5 shapes ');
    expect(events.map((e) => e.index)).toEqual(ids.map((_, i) => i));
    const parsed = parseCompletion(text.tokenizer.decode(ids));
    expect(parsed).toEqual({ reasoning: '3 red + 2 blue = 5', answer: '5 shapes', formatOk: true });
  });

  it('never splits a multi-byte character across deltas, and the deltas add up to the decoded text', () => {
    const s = 'Ünïcödé 日本語 emoji 🎉 ok';
    const ids = text.tokenizer.encode(s);
    expect(ids.length).toBeGreaterThan([...s].length); // bytes, not characters
    const { events } = run(ids, 'answering');
    const deltas = events.map((e) => e.text).filter(Boolean);
    expect(deltas.join('')).toBe(s);
    for (const d of deltas) expect(d).not.toContain('\uFFFD');
  });

  it('keeps invalid byte sequences as U+FFFD, exactly like a full decode (the random model emits them)', () => {
    const g = GREEDY.find((x) => x.name === 'cot')!;
    const { events } = run(g.generated_ids);
    expect(events.map((e) => e.text).join('')).toBe(g.generated_text);
  });
});

describe('completion parsing and the format reward', () => {
  it.each([
    ['<think>a</think><answer>b</answer>', true, 'a', 'b'],
    ['<think>a\nb</think>\n <answer>c\nd</answer>', true, 'a\nb', 'c\nd'],
    [' <think>a</think><answer>b</answer>', false, 'a', 'b'],
    ['<think>a</think>b', false, 'a', 'b'],
    ['<answer>b</answer>', false, '', 'b'],
    ['just text', false, '', 'just text'],
    ['<think>unfinished', false, 'unfinished', ''],
    ['<think>a</think><answer>b', false, 'a', 'b'],
  ] as const)('%j → format %s', (s, ok, reasoning, answer) => {
    expect(FORMAT_REGEX.test(s)).toBe(ok);
    expect(parseCompletion(s)).toEqual({ reasoning, answer, formatOk: ok });
  });
});

describe('prompt preparation (CPU, before any GPU work)', () => {
  it('renders the pack template and expands the image placeholder', () => {
    for (const g of GREEDY) {
      const p = preparePrompt(text, { messages: g.messages, images: g.image ? 1 : 0 });
      expect(p.ids).toEqual(g.input_ids);
      expect(p.imageSpans).toEqual(g.image ? [[g.input_ids.indexOf(1023), 16]] : []);
    }
  });

  it('a custom template that renders the same text gives the same ids', () => {
    // (Jinja drops one trailing newline of the template source, hence the expression at the end.)
    const custom =
      '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}' +
      "{{ '<|im_start|>assistant\\n' }}";
    const g = GREEDY.find((x) => x.name === 'plain')!;
    expect(preparePrompt(text, { messages: g.messages, images: 0, chatTemplate: custom }).ids).toEqual(g.input_ids);
  });

  const refuseTitle =
    'refuses a custom template with tokens the tokenizer does not know, ' +
    'one that does not parse, or misplaces the image';
  it(refuseTitle, async () => {
    const msgs = understandMessages({ prompt: 'hi', cot: false });
    const e = await badInput(
      () =>
        preparePrompt(text, { messages: msgs, images: 0, chatTemplate: '<|system|>{{ messages[0].content }}<|end|>' }),
      'chatTemplate',
    );
    expect(e.message).toContain('<|system|>');
    expect(e.message).toContain('<|end|>');
    await badInput(
      () => preparePrompt(text, { messages: msgs, images: 0, chatTemplate: '{% for m in messages %}' }),
      'chatTemplate',
    );
    const withImage = understandMessages({ prompt: 'hi', cot: false, image: true });
    await badInput(
      () => preparePrompt(text, { messages: withImage, images: 1, chatTemplate: '<|im_start|>user\nhi<|im_end|>\n' }),
      'chatTemplate',
    );
  });

  it('refuses an over-long prompt and says by how much it exceeds the context', async () => {
    const context = text.config.max_position_embeddings;
    const e = await badInput(
      () =>
        preparePrompt(text, { messages: understandMessages({ prompt: 'x '.repeat(context), cot: false }), images: 0 }),
      'prompt',
    );
    const base = preparePrompt(text, { messages: understandMessages({ prompt: '', cot: false }), images: 0 }).ids
      .length;
    const over = base + 2 * context - context; // 'x ' is two tokens here ('x', ' ')
    expect(e.message).toContain(`${over} more than the reasoner's context of ${context} tokens`);
  });

  it('refuses an image placeholder typed into the prompt', async () => {
    await badInput(
      () =>
        preparePrompt(text, {
          messages: understandMessages({ prompt: 'see <image>', cot: false }),
          images: 0,
          userText: 'see <image>',
        }),
      'prompt',
    );
  });
});

describe('image processor', () => {
  it('states its limits', () => {
    expect(MAX_IMAGE_BYTES).toBe(32 * 1024 * 1024);
    expect(MAX_IMAGE_PIXELS).toBe(8192 * 4096);
  });

  it('the 32x32 fixture image gives exactly the PyTorch pixel values (PNG bytes, Blob, or raw RGBA)', async () => {
    const png = await fixtureBytes('understand_image.png');
    const want = Array.from(await fixtureF32('understand_pixel_values.bin'));
    expect(Array.from(await preprocessImage(png, text.config.vision!))).toEqual(want);
    const bmp = await createImageBitmap(new Blob([png as BlobPart]));
    const ctx = new OffscreenCanvas(32, 32).getContext('2d')!;
    ctx.drawImage(bmp, 0, 0);
    const rgba = ctx.getImageData(0, 0, 32, 32).data;
    expect(Array.from(await preprocessImage({ width: 32, height: 32, data: rgba }, text.config.vision!))).toEqual(want);
  });

  it('resizes to the encoder size: the 64x64 Edit input (2x2 blocks) gives the Edit fixture exactly', async () => {
    const got = await preprocessImage(
      new Blob([(await fixtureBytes('edit_input.png')) as BlobPart]),
      text.config.vision!,
    );
    const want = await fixtureF32('edit_pixel_values.bin');
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - want[i]!));
    console.log(`edit input 64→32: max |Δ| = ${maxDiff} (${Math.round(maxDiff * 0.5 * 255)} of 255 levels)`);
    expect(maxDiff).toBe(0);
  });

  it('refuses undecodable, empty, too large and too many-pixel images with BAD_INPUT on the image field', async () => {
    await badInput(() => preprocessImage(new Uint8Array([1, 2, 3, 4]), text.config.vision!), 'image');
    await badInput(() => preprocessImage(new Blob([]), text.config.vision!), 'image');
    const big = await badInput(
      () => decodeImage(new Blob([new Uint8Array(1025)]), { maxBytes: 1024, maxPixels: 1e9 }),
      'image',
    );
    expect(big.message).toMatch(/limit is/);
    const png = await fixtureBytes('understand_image.png');
    const many = await badInput(() => decodeImage(png, { maxBytes: 1e9, maxPixels: 32 * 32 - 1 }), 'image');
    expect(many.message).toContain('32×32');
    await badInput(() => decodeImage({ width: 2, height: 2, data: new Uint8ClampedArray(15) }), 'image');
  });
});
