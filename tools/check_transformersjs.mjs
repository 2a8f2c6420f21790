// Side-by-side check: transformers.js loads the tiny-random pack as a llava model (the same ONNX files our
// reasoner runs) and reproduces the greedy fixtures. transformers.js is not a dependency of the app; install it
// in a scratch folder and run this from there:
//
//   mkdir -p /tmp/tjs && cd /tmp/tjs && npm init -y && npm install --ignore-scripts @huggingface/transformers@4
//   node /work/main/tools/check_transformersjs.mjs /work/main
//
// (--ignore-scripts skips onnxruntime-node's optional CUDA download, which needs a host npm cannot reach here.)
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? '.');
const require = createRequire(path.join(process.cwd(), 'package.json'));
const { env, AutoProcessor, LlavaForConditionalGeneration, RawImage } = await import(
  require.resolve('@huggingface/transformers')
);
env.localModelPath = path.join(root, 'public/models/');
env.allowRemoteModels = false;
const fixDir = path.join(root, 'tests/fixtures/tiny-random/');
const fx = JSON.parse(fs.readFileSync(fixDir + 'fixtures.json', 'utf8'));
const model = await LlavaForConditionalGeneration.from_pretrained('tiny-random', { dtype: 'fp32', device: 'cpu' });
const processor = await AutoProcessor.from_pretrained('tiny-random');
let bad = 0;
for (const g of fx.greedy) {
  const text = processor.tokenizer.apply_chat_template(g.messages, { tokenize: false, add_generation_prompt: true });
  const inputs = g.image
    ? await processor(await RawImage.read(fixDir + g.image), text, { add_special_tokens: false })
    : processor.tokenizer(text, { add_special_tokens: false });
  const ids = Array.from(inputs.input_ids.data, Number);
  const out = await model.generate({ ...inputs, max_new_tokens: g.max_new_tokens, do_sample: false });
  const gen = Array.from(out.data, Number).slice(ids.length);
  const ok =
    JSON.stringify(ids) === JSON.stringify(g.input_ids) && JSON.stringify(gen) === JSON.stringify(g.generated_ids);
  if (!ok) bad++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${g.name}: ${gen.join(',')}`);
}
process.exit(bad ? 1 : 0);
