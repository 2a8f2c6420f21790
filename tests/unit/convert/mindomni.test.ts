// MindOmni's converter on the committed replica (tests/fixtures/mindomni-replica, tools/make_mindomni_replica.py:
// MindOmni's folder layout, names and BF16): the painter file holds exactly the names and layouts our painter loader
// reads, with the checkpoint's values (Conv2d patch embed as its Linear, the connector's ModuleList indices as
// layers), only the layers' projections in the chosen format; the configs come out as MindOmni's; the newer
// transformers layout of the mllm converts to the same bytes; every bad checkpoint is refused naming the thing before
// anything is written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { memoryReader, memorySink } from '../../helpers/convert_memory';
import { convertMindOmni, mindomniConfigs, mindomniPainterMappings, phi3Dims } from '../../../src/convert/mindomni';
import { convertVae } from '../../../src/convert/vae';
import type { FoundTensors } from '../../../src/convert/checkpoint';
import { RgError } from '../../../src/errors';
import { toWeightData, weightArrays } from '../../../src/kernels/weight_data';
import { PainterConfigFileSchema } from '../../../src/packs/manifest';
import { parseSafetensors, type SafeDtype } from '../../../src/packs/safetensors';
import { writeSafetensors } from '../../helpers/safetensors';
import { readFolder } from '../../helpers/folder';

const FIXTURE = fileURLToPath(new URL('../../fixtures/mindomni-replica/', import.meta.url));
const TINY = fileURLToPath(new URL('../../../public/models/tiny-random/', import.meta.url));

/** The replica's files (small tokenizer files added under mllm/, as the real repo carries Qwen's). */
function replicaFiles(): Map<string, Uint8Array> {
  const m = new Map([...readFolder(FIXTURE)].filter(([p]) => !p.endsWith('reference.json')));
  for (const n of ['tokenizer.json', 'tokenizer_config.json'])
    m.set(`mllm/${n}`, new Uint8Array(readFileSync(join(TINY, n))));
  return m;
}

const json = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;
const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

/** A safetensors file's tensors as [name, dtype, shape, bytes], in file order. */
function tensorsOf(file: Uint8Array): [string, SafeDtype, number[], Uint8Array][] {
  const st = parseSafetensors(file, 'test');
  return [...st.tensors.values()].map((t) => [t.name, t.dtype, t.shape, file.slice(t.begin, t.end)]);
}

function bf16ToF32(b: Uint8Array): Float32Array {
  const h = new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
  const out = new Float32Array(h.length);
  new Uint32Array(out.buffer).set(Array.from(h, (x) => x << 16));
  return out;
}

/** Our name of each source tensor (the mapping docs/formats.md tabulates), written out here independently. */
function ourName(src: string): string | null {
  const m = /^(\d+)\.(.*)$/.exec(src);
  if (m) return m[1] === '0' ? `connector.input_proj.${m[2]}` : `connector.layers.${Number(m[1]) - 1}.${m[2]}`;
  if (src.startsWith('llm.layers.')) return `painter.${src.slice(4)}`;
  const fixed: Record<string, string> = {
    'llm.norm.weight': 'painter.norm.weight',
    'x_embedder.proj.weight': 'painter.x_embedder.weight',
    'x_embedder.proj.bias': 'painter.x_embedder.bias',
    'final_layer.adaLN_modulation.1.weight': 'painter.final_layer.adaLN_modulation.weight',
    'final_layer.adaLN_modulation.1.bias': 'painter.final_layer.adaLN_modulation.bias',
    'final_layer.linear.weight': 'painter.final_layer.linear.weight',
    'final_layer.linear.bias': 'painter.final_layer.linear.bias',
  };
  if (src in fixed) return fixed[src]!;
  if (/^(time_token|t_embedder)\.mlp\.[02]\./.test(src)) return `painter.${src}`;
  return null; // pos_embed, llm.embed_tokens, input_x_embedder: not converted
}

const PROJECTION = /\.layers\.\d+\.(self_attn\.(qkv|o)_proj|mlp\.(gate_up|down)_proj)\.weight$/;

/** Phi-3-128k's LongRoPE fields at the replica's head_dim 32 (16 factors each; values made up, Phi-3's span). */
const LENGTHS = { original_max_position_embeddings: 4096, max_position_embeddings: 131072 };
function longrope(type: string) {
  return {
    type,
    short_factor: Array.from({ length: 16 }, (_, i) => 1 + i / 32),
    long_factor: Array.from({ length: 16 }, (_, i) => 1 + i * 3.5),
  };
}

async function expectRefused(files: Map<string, Uint8Array>, pattern: RegExp, field?: string) {
  const { sink, created } = memorySink();
  const e = await convertMindOmni(memoryReader(files), sink, { weights: 'int8' }).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RgError);
  expect((e as RgError).message).toMatch(pattern);
  if (field) expect((e as RgError).field).toBe(field);
  expect(created).toEqual([]);
}

describe('convertMindOmni', () => {
  it('f32: each connector and image decoder tensor under our name with its value; MindOmni configs', async () => {
    const files = replicaFiles();
    const { sink, out } = memorySink();
    const r = await convertMindOmni(memoryReader(files), sink, { weights: 'f32', blockBytes: 1000 });
    expect(r.files.map((f) => f.path)).toEqual([
      'reasoner.f32.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'generation_config.json',
      'painter.f32.safetensors',
      'painter_config.json',
      'vae_decoder.onnx',
      'vae_encoder.onnx',
      'vae_config.json',
      'converted.json',
    ]);
    const got = new Map(tensorsOf(out.get('painter.f32.safetensors')!).map((t) => [t[0], t]));
    const want = new Map<string, [Float32Array, number[]]>();
    for (const src of ['image_decoder/model.safetensors', 'connector.safetensors'])
      for (const [name, dtype, shape, bytes] of tensorsOf(files.get(src)!)) {
        expect(dtype).toBe('BF16');
        const ours = ourName(name);
        if (ours) want.set(ours, [bf16ToF32(bytes), shape.length === 4 ? [shape[0]!, shape[1]! * 4] : shape]);
      }
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [name, [values, shape]] of want) {
      const [, dtype, gotShape, bytes] = got.get(name)!;
      expect([name, dtype, gotShape]).toEqual([name, 'F32', shape]);
      expect(new Float32Array(bytes.slice().buffer)).toEqual(values);
    }
    const pc = PainterConfigFileSchema.parse(json(out.get('painter_config.json')!));
    expect(pc.connector).toMatchObject({ input_size: 32, hidden_size: 32, num_hidden_layers: 2, final_norm: false });
    expect(pc.painter).toMatchObject({
      num_hidden_layers: 2,
      head_dim: 32,
      latent_channels: 4,
      patch_size: 2,
      timestep_freq_dim: 256,
      timestep_scale: 1,
      time_embedders: 'separate',
      pos_embed_max_size: 16,
      pos_embed_scale: 4,
    });
    expect(pc.weights).toEqual({ f32: 'painter.f32.safetensors' });
    const desc = json(out.get('converted.json')!);
    expect(desc.format).toBe('rg-vlm-converted-mindomni');
    expect(desc.source).toMatchObject({ mllm: { model_type: 'qwen2_5_vl', prefix: 'model.' } });
    expect(r.reasoner).toMatchObject({ hidden_size: 32, num_attention_heads: 2, num_key_value_heads: 1 });
  });

  it('vae/: the VAE converter’s three files, in converted.json; without vae/, listed as not converted', async () => {
    const files = replicaFiles();
    const { sink, out } = memorySink();
    const r = await convertMindOmni(memoryReader(files), sink, { weights: 'f16' });
    const alone = memorySink();
    await convertVae(memoryReader(files), alone.sink, { weights: 'f16' });
    for (const p of ['vae_decoder.onnx', 'vae_encoder.onnx', 'vae_config.json'])
      expect(out.get(p), p).toEqual(alone.out.get(p));
    const vae = { in_channels: 3, latent_channels: 4, downscale: 2, block_channels: [4, 8], scaling_factor: 0.13025 };
    expect(r.vae).toEqual({ ...vae, shift_factor: 0 });
    const desc = json(out.get('converted.json')!) as Record<string, Record<string, unknown>>;
    expect(desc.vae).toEqual(r.vae);
    expect(desc.paths).toMatchObject({
      vae_decoder: 'vae_decoder.onnx',
      vae_encoder: 'vae_encoder.onnx',
      vae_config: 'vae_config.json',
    });
    expect(desc.source!.not_converted).not.toContain('vae/');
    for (const p of [...files.keys()].filter((k) => k.startsWith('vae/'))) files.delete(p);
    const without = memorySink();
    const r2 = await convertMindOmni(memoryReader(files), without.sink, { weights: 'f16' });
    expect(r2.vae).toBeNull();
    expect(without.created.filter((p) => p.startsWith('vae'))).toEqual([]);
    const d2 = json(without.out.get('converted.json')!) as Record<string, Record<string, unknown>>;
    expect(d2.source!.not_converted).toContain('vae/');
    expect(d2.paths).not.toHaveProperty('vae_decoder');
    expect(without.out.get('painter.f16.safetensors')).toEqual(out.get('painter.f16.safetensors'));
  });

  it('refuses a vae/ whose latent channels are not the image decoder’s, or whose config is bad', async () => {
    const files = replicaFiles();
    const c = json(files.get('vae/config.json')!);
    files.set('vae/config.json', enc({ ...c, latent_channels: 8 }));
    await expectRefused(files, /latent_channels 8 ≠ the image decoder's 4/, 'latent_channels');
    files.set('vae/config.json', enc({ ...c, act_fn: 'relu' }));
    await expectRefused(files, /act_fn "relu"/, 'act_fn');
  });

  it('f16 / int8 / int4: only the layers’ four projections take the format (the whole-matrix bytes)', async () => {
    const files = replicaFiles();
    const f32 = memorySink();
    await convertMindOmni(memoryReader(files), f32.sink, { weights: 'f32' });
    const ref = new Map(tensorsOf(f32.out.get('painter.f32.safetensors')!).map((t) => [t[0], t]));
    for (const f of ['f16', 'int8', 'int4'] as const) {
      const { sink, out } = memorySink();
      await convertMindOmni(memoryReader(files), sink, { weights: f, blockBytes: 700 });
      const got = new Map(tensorsOf(out.get(`painter.${f}.safetensors`)!).map((t) => [t[0], t]));
      for (const [name, [, , shape, bytes]] of ref) {
        const base = name.slice(0, -'.weight'.length);
        if (!PROJECTION.test(name)) {
          expect(got.get(name)?.[3]).toEqual(bytes);
          continue;
        }
        const w = weightArrays(
          toWeightData(new Float32Array(bytes.slice().buffer), shape[0]!, shape[1]!, f === 'f16' ? 'f16' : f),
        );
        const words = f === 'f16' ? `${base}.weight` : f === 'int8' ? `${base}.weight_q` : `${base}.weight_q4`;
        expect(got.get(words)?.[3], words).toEqual(
          new Uint8Array(w.words.buffer, w.words.byteOffset, w.words.byteLength),
        );
        if (w.scale) expect(got.get(`${base}.weight_scale`)?.[3]).toEqual(new Uint8Array(w.scale.buffer));
      }
    }
  });

  it('the mllm in the newer layout (model.language_model.*, text_config) converts to the same bytes', async () => {
    const files = replicaFiles();
    const a = memorySink();
    await convertMindOmni(memoryReader(files), a.sink, { weights: 'int4' });
    const index = json(files.get('mllm/model.safetensors.index.json')!) as { weight_map: Record<string, string> };
    const rename = (n: string) => n.replace(/^model\./, 'model.language_model.').replace(/^visual\./, 'model.visual.');
    for (const shard of new Set(Object.values(index.weight_map))) {
      const t = tensorsOf(files.get(`mllm/${shard}`)!).map(([n, d, s, b]) => [rename(n), d, s, b] as const);
      files.set(`mllm/${shard}`, writeSafetensors(t.map(([n, d, s, b]) => [n, d, s, b])));
    }
    const wm = Object.fromEntries(Object.entries(index.weight_map).map(([k, v]) => [rename(k), v]));
    files.set('mllm/model.safetensors.index.json', enc({ ...index, weight_map: wm }));
    const top = json(files.get('mllm/config.json')!);
    const textKeys = ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads'];
    const text = Object.fromEntries(textKeys.map((k) => [k, top[k]]));
    for (const k of textKeys) delete top[k];
    files.set('mllm/config.json', enc({ ...top, text_config: { ...text, model_type: 'qwen2_5_vl_text' } }));
    const b = memorySink();
    const r = await convertMindOmni(memoryReader(files), b.sink, { weights: 'int4' });
    expect(b.out.get('reasoner.int4.safetensors')).toEqual(a.out.get('reasoner.int4.safetensors'));
    expect(b.out.get('painter.int4.safetensors')).toEqual(a.out.get('painter.int4.safetensors'));
    expect(json(b.out.get('converted.json')!).source).toMatchObject({ mllm: { prefix: 'model.language_model.' } });
    expect(r.reasoner.hidden_size).toBe(32);
  });

  it('keeps the image decoder’s LongRoPE ("su" or "longrope") in both configs; the weights unchanged', async () => {
    const plain = memorySink();
    await convertMindOmni(memoryReader(replicaFiles()), plain.sink, { weights: 'int8' });
    for (const type of ['su', 'longrope']) {
      const files = replicaFiles();
      const c = json(files.get('image_decoder/config.json')!);
      Object.assign(c, { rope_scaling: longrope(type) }, LENGTHS);
      files.set('image_decoder/config.json', enc(c));
      const b = memorySink();
      const r = await convertMindOmni(memoryReader(files), b.sink, { weights: 'int8' });
      const want = { ...LENGTHS, rope_scaling: { ...longrope('longrope') } };
      expect(r.painter).toMatchObject(want);
      const pc = PainterConfigFileSchema.parse(json(b.out.get('painter_config.json')!));
      expect(pc.painter).toMatchObject(want);
      expect(pc.connector).toMatchObject(want);
      expect(b.out.get('painter.int8.safetensors')).toEqual(plain.out.get('painter.int8.safetensors'));
    }
    const none = PainterConfigFileSchema.parse(json(plain.out.get('painter_config.json')!));
    expect(none.painter.rope_scaling).toBeUndefined();
    expect(none.painter.original_max_position_embeddings).toBeUndefined();
  });

  it('at the real configs: the shapes docs/formats.md tabulates, and the painter file’s size per format', () => {
    // OmniGen's Phi-3 (its rope_scaling aside: see the LongRoPE test) and Qwen2.5-VL-7B's hidden size.
    const d = phi3Dims({
      model_type: 'phi3',
      hidden_size: 3072,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 32,
      intermediate_size: 8192,
      rope_theta: 10000,
      rms_norm_eps: 1e-5,
      rope_scaling: null,
    });
    const found = (shapes: Record<string, number[]>): FoundTensors =>
      new Map(Object.entries(shapes).map(([name, shape]) => [name, { file: 'x', info: { name, shape } as never }]));
    const { connector: cc, painter: pc } = mindomniConfigs(
      d,
      3584,
      found({
        'x_embedder.proj.weight': [3072, 4, 2, 2],
        'time_token.mlp.0.weight': [3072, 256],
        pos_embed: [1, 192 * 192, 3072],
      }),
      found({ '0.weight': [3072, 3584], '1.input_layernorm.weight': [3072], '2.input_layernorm.weight': [3072] }),
    );
    expect(pc).toMatchObject({ head_dim: 96, pos_embed_max_size: 192, pos_embed_scale: 1 / 3, latent_channels: 4 });
    const maps = mindomniPainterMappings(cc, pc);
    const shape = new Map(maps.map((m) => [m.hf, m.source ?? m.shape]));
    expect(shape.get('0.weight')).toEqual([3072, 3584]);
    expect(shape.get('1.self_attn.qkv_proj.weight')).toEqual([9216, 3072]);
    expect(shape.get('2.mlp.gate_up_proj.weight')).toEqual([16384, 3072]);
    expect(shape.get('llm.layers.31.mlp.down_proj.weight')).toEqual([3072, 8192]);
    expect(shape.get('x_embedder.proj.weight')).toEqual([3072, 4, 2, 2]);
    expect(shape.get('time_token.mlp.0.weight')).toEqual([3072, 256]);
    expect(shape.get('final_layer.adaLN_modulation.1.weight')).toEqual([6144, 3072]);
    expect(shape.get('final_layer.linear.weight')).toEqual([16, 3072]);
    expect(maps.filter((m) => m.hf.startsWith('llm.layers.')).length).toBe(32 * 6);
    const bytes = (f: 'f32' | 'f16' | 'int8' | 'int4') =>
      maps.reduce((a, m) => {
        const n = m.shape.reduce((x, y) => x * y, 1);
        if (m.shape.length === 1 || m.f32 || f === 'f32') return a + 4 * n;
        return a + (f === 'f16' ? 2 * n : f === 'int8' ? n + 4 * m.shape[0] : n / 2 + n / 8);
      }, 0);
    const sizes = (['f32', 'f16', 'int8', 'int4'] as const).map((f) => `${f} ${(bytes(f) / 1e9).toFixed(2)} GB`);
    console.log(`MindOmni painter file (connector + image decoder, tensor data): ${sizes.join(', ')}`);
    expect(bytes('int4')).toBeLessThan(bytes('int8'));
  });

  describe('refuses, naming the thing, before anything is written', () => {
    const withConfig = (path: string, change: (c: Record<string, unknown>) => void) => {
      const files = replicaFiles();
      const c = json(files.get(path)!);
      change(c);
      files.set(path, enc(c));
      return files;
    };
    const withoutTensor = (path: string, name: string, reshape?: number[]) => {
      const files = replicaFiles();
      const t = tensorsOf(files.get(path)!).flatMap(([n, d, s, b]): [string, SafeDtype, number[], Uint8Array][] =>
        n !== name ? [[n, d, s, b]] : reshape ? [[n, d, reshape, b]] : [],
      );
      files.set(path, writeSafetensors(t));
      return files;
    };

    it('rope_scaling other than LongRoPE, or LongRoPE that is not what MindOmni’s Phi-3 code runs', async () => {
      const rope = (r: Record<string, unknown>, lengths: Record<string, unknown> = LENGTHS) =>
        withConfig('image_decoder/config.json', (c) => void Object.assign(c, { rope_scaling: r }, lengths));
      await expectRefused(
        rope({ ...longrope('su'), type: 'yarn' }),
        /rope_scaling of type "yarn" is not supported/,
        'rope_scaling',
      );
      const short = longrope('su');
      short.short_factor = short.short_factor.slice(1);
      await expectRefused(
        rope(short),
        /rope_scaling\.short_factor must be 16 positive numbers \(head_dim \/ 2\), got 15 values/,
        'rope_scaling.short_factor',
      );
      const zero = longrope('longrope');
      zero.long_factor[3] = 0;
      await expectRefused(
        rope(zero),
        /rope_scaling\.long_factor must be 16 positive numbers/,
        'rope_scaling.long_factor',
      );
      await expectRefused(
        rope({ ...longrope('su'), attention_factor: 1.2 }),
        /rope_scaling\.attention_factor is not supported/,
        'rope_scaling.attention_factor',
      );
      await expectRefused(
        rope(longrope('su'), { max_position_embeddings: 131072, original_max_position_embeddings: undefined }),
        /original_max_position_embeddings must be a positive integer/,
        'original_max_position_embeddings',
      );
    });
    it('an image decoder that is not Phi-3', async () => {
      const files = withConfig('image_decoder/config.json', (c) => void (c.model_type = 'llama'));
      await expectRefused(files, /image_decoder\/config.json: model_type "llama" is not supported/);
    });
    it('an mllm of another model_type, or with an mrope that is not plain RoPE for text', async () => {
      await expectRefused(
        withConfig('mllm/config.json', (c) => void (c.model_type = 'qwen3')),
        /model_type "qwen3" is not supported/,
      );
      await expectRefused(
        withConfig('mllm/config.json', (c) => void (c.rope_scaling = { type: 'mrope', mrope_section: [2, 3, 4] })),
        /rope_scaling .* is not supported/,
        'rope_scaling',
      );
    });
    it('a missing connector layer tensor, a missing or misshapen decoder tensor', async () => {
      await expectRefused(
        withoutTensor('connector.safetensors', '2.mlp.down_proj.weight'),
        /no tensor 2\.mlp\.down_proj\.weight/,
        '2.mlp.down_proj.weight',
      );
      await expectRefused(
        withoutTensor('image_decoder/model.safetensors', 't_embedder.mlp.2.bias'),
        /no tensor t_embedder\.mlp\.2\.bias/,
      );
      await expectRefused(
        withoutTensor('image_decoder/model.safetensors', 'llm.layers.1.self_attn.o_proj.weight', [16, 64]),
        /llm\.layers\.1\.self_attn\.o_proj\.weight has shape \[16, 64\]; .* means \[32, 32\]/,
      );
      await expectRefused(
        withoutTensor('image_decoder/model.safetensors', 'pos_embed', [2, 128, 32]),
        /pos_embed has shape \[2, 128, 32\]/,
        'pos_embed',
      );
    });
    it('a connector whose input is not the mllm’s hidden size', async () => {
      const files = withoutTensor('connector.safetensors', '0.weight', [64, 16]);
      await expectRefused(files, /0\.weight has shape \[64, 16\]; .*means \[32, 32\]/, '0.weight');
    });
    it('an image decoder saved only as model.pt, or no connector at all', async () => {
      const files = replicaFiles();
      files.set('image_decoder/model.pt', files.get('image_decoder/model.safetensors')!);
      files.delete('image_decoder/model.safetensors');
      await expectRefused(files, /only model\.pt/);
      const noConnector = replicaFiles();
      noConnector.delete('connector.safetensors');
      await expectRefused(noConnector, /connector\.safetensors is missing/);
    });
  });
});
