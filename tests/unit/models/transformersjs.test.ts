// transformers.js loads the tiny-random pack as a llava model (the same ONNX files our reasoner runs, for the
// side-by-side decode benchmark) and reproduces the PyTorch greedy fixtures, image prompt included.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AutoProcessor, LlavaForConditionalGeneration, RawImage, env } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';

const MODELS = fileURLToPath(new URL('../../../public/models/', import.meta.url));
const FIX = fileURLToPath(new URL('../../fixtures/tiny-random/', import.meta.url));
const fx = JSON.parse(readFileSync(FIX + 'fixtures.json', 'utf8'));

describe('transformers.js reads the tiny-random pack', () => {
  it('generates the greedy fixtures token for token', async () => {
    env.localModelPath = MODELS;
    env.allowRemoteModels = false;
    const model = await LlavaForConditionalGeneration.from_pretrained('tiny-random', { dtype: 'fp32', device: 'cpu' });
    const processor = await AutoProcessor.from_pretrained('tiny-random');
    for (const g of fx.greedy) {
      const text = processor.tokenizer!.apply_chat_template(g.messages, {
        tokenize: false,
        add_generation_prompt: true,
      }) as string;
      const inputs = g.image
        ? await processor(await RawImage.read(FIX + g.image), text, { add_special_tokens: false })
        : processor.tokenizer!(text, { add_special_tokens: false });
      const ids = Array.from(inputs.input_ids.data as BigInt64Array, Number);
      expect(ids, g.name).toEqual(g.input_ids);
      const out = (await model.generate({ ...inputs, max_new_tokens: g.max_new_tokens, do_sample: false })) as {
        data: BigInt64Array;
      };
      expect(Array.from(out.data, Number).slice(ids.length), g.name).toEqual(g.generated_ids);
    }
    await model.dispose();
  });
});
