// The tiny-random tokenizer and chat template, as the app reads them (@huggingface/tokenizers, @huggingface/jinja),
// give exactly the ids and text the Python tools produced (tests/fixtures/tiny-random/fixtures.json).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../src/packs/manifest';
import { negativeMessages } from '../../../src/models/reasoner/prompts';

/** MindOmni's app.py NEGATIVE_PROMPT (a triple-quoted string: a newline before and after). */
const MINDOMNI_NEGATIVE =
  '\nlow quality, jpeg artifacts, ugly, duplicate, morbid, mutilated, extra fingers, mutated hands, poorly drawn ' +
  'hands, poorly drawn face, mutation, deformed, blurry, dehydrated, bad anatomy, bad proportions, extra limbs, ' +
  'cloned face, disfigured, gross proportions, malformed limbs, missing arms, missing legs, extra arms, extra legs, ' +
  'fused fingers, too many fingers.\n';

const pack = fileURLToPath(new URL('../../../public/models/tiny-random/', import.meta.url));
const fix = fileURLToPath(new URL('../../fixtures/tiny-random/', import.meta.url));
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

const manifest = parseManifest(json(pack + 'manifest.json'));
const tokenizerJson = json(pack + 'tokenizer.json');
const tokenizerConfig = json(pack + 'tokenizer_config.json');
const fixtures = json(fix + 'fixtures.json');
const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
const template = new Template(tokenizerConfig.chat_template);

type Msg = { role: string; content: string | { type: string; text?: string }[] };
interface PromptFixture {
  name?: string;
  messages: Msg[];
  rendered: string;
  input_ids: number[];
}

const prompts: [string, PromptFixture][] = [
  ...fixtures.greedy.map((g: PromptFixture) => [`greedy ${g.name}`, g] as [string, PromptFixture]),
  ['negative', fixtures.negative],
  ['imagine', fixtures.imagine],
  ['edit', fixtures.edit],
];

/** llava processor: each image token becomes num_image_tokens of them. */
const expand = (text: string) =>
  text
    .split(manifest.reasoner.image_token)
    .join(manifest.reasoner.image_token.repeat(manifest.reasoner.num_image_tokens));

describe('tiny-random tokenizer (JS) = tools tokenizer (Python)', () => {
  it.each(fixtures.tokenizer_cases as { text: string; ids: number[] }[])('encodes %j', ({ text, ids }) => {
    expect(tokenizer.encode(text, { add_special_tokens: false }).ids).toEqual(ids);
  });

  it('decodes back to the text', () => {
    for (const { text, ids } of fixtures.tokenizer_cases as { text: string; ids: number[] }[]) {
      if (ids.length === 0) continue; // decode([]) throws in @huggingface/tokenizers
      expect(tokenizer.decode(ids, { skip_special_tokens: false })).toBe(text);
    }
  });

  it.each(prompts)('%s: the Jinja chat template renders the same text and ids', (_, p) => {
    const text = template.render({ messages: p.messages, add_generation_prompt: true });
    expect(text).toBe(p.rendered);
    expect(tokenizer.encode(expand(text), { add_special_tokens: false }).ids).toEqual(p.input_ids);
  });

  it('knows the special tokens by the ids in the manifest', () => {
    const st = manifest.reasoner.special_tokens;
    const ids = tokenizer.encode('<|endoftext|><|im_start|><|im_end|><think></think><answer></answer><image>', {
      add_special_tokens: false,
    }).ids;
    expect(ids).toEqual([
      st.endoftext,
      st.im_start,
      st.im_end,
      st.think_start,
      st.think_end,
      st.answer_start,
      st.answer_end,
      st.image,
    ]);
  });

  it("the negative turn is app.py's: plain system prompt, instruction prefix, MindOmni's text (exact ids)", () => {
    const p = manifest.prompts;
    expect(p.negative_instruction_prefix).toBe(true);
    expect(p.negative_prompt).toBe(MINDOMNI_NEGATIVE);
    const text = template.render({ messages: negativeMessages(p.negative_prompt, true), add_generation_prompt: true });
    expect(text).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n' +
        `Generate an image according to the following instructions\n${MINDOMNI_NEGATIVE}<|im_end|>\n` +
        '<|im_start|>assistant\n',
    );
    const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
    expect(ids).toEqual(fixtures.negative.input_ids);
    expect(ids.length).toBe(226);
    // The old turn (the negative text alone; `negative_instruction_prefix: false`) is another prompt.
    const old = template.render({ messages: negativeMessages(p.negative_prompt, false), add_generation_prompt: true });
    expect(tokenizer.encode(old, { add_special_tokens: false }).ids).not.toEqual(ids);
    expect(old).not.toContain(p.instruction_prefix);
  });

  it('the template without a generation prompt ends at the last turn', () => {
    const text = template.render({ messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: false });
    expect(text).toBe('<|im_start|>user\nhi<|im_end|>\n');
    const parts = template.render({
      messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: '\nwhat?' }] }],
      add_generation_prompt: true,
    });
    expect(parts).toBe('<|im_start|>user\n<image>\nwhat?<|im_end|>\n<|im_start|>assistant\n');
  });
});
