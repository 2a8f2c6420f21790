// The VAE converter (src/convert/vae.ts) on the replica's vae/ (tools/make_vae_replica.py: diffusers' AutoencoderKL
// layout and names, F16 with unaligned tensors): both graphs, run by onnxruntime-web's WASM backend in Node, give the
// plain-PyTorch mirror's decoder output and encoder mean (vae_reference.json); F32 / BF16 sources, the old attention
// names and 1×1-conv-shaped projections give the same files; every bad config or tensor set is refused naming it
// before anything is written.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { memoryReader, memorySink } from '../../helpers/convert_memory';
import { convertVae, planVae, VAE_CONFIG, VAE_WEIGHTS } from '../../../src/convert/vae';
import { RgError } from '../../../src/errors';
import { VaeConfigFileSchema } from '../../../src/packs/manifest';
import { parseHeader, type SafeDtype } from '../../../src/packs/safetensors';
import { fromF16 } from '../../../src/kernels/quantize';
import { onnx } from 'onnx-proto';
import { SDXL_VAE_PARAMS, sdxlTensors, sdxlZeroVae } from '../../helpers/vae_sdxl';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const FIXTURE = fileURLToPath(new URL('../../fixtures/mindomni-replica/', import.meta.url));
const ref = JSON.parse(readFileSync(FIXTURE + 'vae_reference.json', 'utf8')) as Record<string, number[]>;

function replicaVae(): Map<string, Uint8Array> {
  return new Map(
    readdirSync(FIXTURE + 'vae').map((n) => [`vae/${n}`, new Uint8Array(readFileSync(FIXTURE + 'vae/' + n))]),
  );
}

const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
const json = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;

/** The replica's weights file as [name, dtype, shape, bytes], in file order. */
function tensors(files: Map<string, Uint8Array>): [string, SafeDtype, number[], Uint8Array][] {
  const file = files.get(VAE_WEIGHTS)!;
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const st = parseHeader(file.subarray(8, 8 + n), 'test', 1);
  return [...st.tensors.values()].map((t) => [t.name, t.dtype, t.shape, file.slice(t.begin, t.end)]);
}

type Tensor = [string, SafeDtype, number[], Uint8Array];

/** A safetensors file as the safetensors library lays it out: sorted names, back to back, no alignment. */
function writeUnaligned(ts: Tensor[]): Uint8Array {
  const header: Record<string, unknown> = {};
  let off = 0;
  const sorted = [...ts].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  for (const [n, dtype, shape, b] of sorted) header[n] = { dtype, shape, data_offsets: [off, (off += b.byteLength)] };
  let h = JSON.stringify(header);
  h += ' '.repeat((8 - (h.length % 8)) % 8);
  const out = new Uint8Array(8 + h.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(new TextEncoder().encode(h), 8);
  let at = 8 + h.length;
  for (const t of sorted) {
    out.set(t[3], at);
    at += t[3].byteLength;
  }
  return out;
}

/** Rewrites the weights file with its tensors changed by `f`. */
function rewrite(files: Map<string, Uint8Array>, f: (t: Tensor) => Tensor) {
  files.set(VAE_WEIGHTS, writeUnaligned(tensors(files).map(f)));
}

function f16ToF32Bytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(fromF16(new Uint16Array(b.slice().buffer)).buffer);
}

async function run(model: Uint8Array, input: string, data: number[], dims: number[], output: string) {
  const s = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  try {
    const r = await s.run({ [input]: new ort.Tensor('float32', Float32Array.from(data), dims) });
    return { data: r[output]!.data as Float32Array, dims: r[output]!.dims };
  } finally {
    await s.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function expectRefused(files: Map<string, Uint8Array>, pattern: RegExp, field: string) {
  const { sink, created } = memorySink();
  const e = await convertVae(memoryReader(files), sink, { weights: 'f32' }).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RgError);
  expect((e as RgError).message).toMatch(pattern);
  expect((e as RgError).field).toBe(field);
  expect(created).toEqual([]);
}

function withConfig(patch: Record<string, unknown>): Map<string, Uint8Array> {
  const files = replicaVae();
  files.set(VAE_CONFIG, enc({ ...json(files.get(VAE_CONFIG)!), ...patch }));
  return files;
}

// The mirror computes in f32 on the same (F16-exact) weights; measured max |Δ| 2.5e-6 decoder, 1.3e-6 encoder
// (ORT WASM), of outputs up to 2.3.
const BOUND = 1e-5;

describe('convertVae', () => {
  it.each(['f32', 'f16'] as const)(
    '%s: the decoder and the encoder mean match the PyTorch mirror on the replica',
    async (weights) => {
      const { sink, out } = memorySink();
      const r = await convertVae(memoryReader(replicaVae()), sink, { weights });
      expect(r.files.map((f) => f.path)).toEqual(['vae_decoder.onnx', 'vae_encoder.onnx', 'vae_config.json']);
      expect(VaeConfigFileSchema.parse(json(out.get('vae_config.json')!))).toEqual({
        _class_name: 'AutoencoderKL',
        in_channels: 3,
        latent_channels: 4,
        downscale: 2,
        block_channels: [4, 8],
        scaling_factor: 0.13025,
        shift_factor: 0,
      });
      const dec = await run(out.get('vae_decoder.onnx')!, 'latent_sample', ref.latent!, ref.latent_shape!, 'sample');
      expect(dec.dims).toEqual(ref.decoded_shape);
      const dd = maxAbsDiff(dec.data, ref.decoded!);
      const mean = await run(out.get('vae_encoder.onnx')!, 'sample', ref.image!, ref.image_shape!, 'latent_sample');
      expect(mean.dims).toEqual(ref.mean_shape);
      const de = maxAbsDiff(mean.data, ref.mean!);
      console.log(`${weights}: max |Δ| decoder ${dd.toExponential(2)}, encoder ${de.toExponential(2)}`);
      expect(dd).toBeLessThan(BOUND);
      expect(de).toBeLessThan(BOUND);
    },
  );

  it('f16 (any format but f32): the conv and projection weights are f16 initializers, each Cast to f32', async () => {
    const a = memorySink();
    const b = memorySink();
    await convertVae(memoryReader(replicaVae()), a.sink, { weights: 'f32' });
    await convertVae(memoryReader(replicaVae()), b.sink, { weights: 'int4' });
    for (const path of ['vae_decoder.onnx', 'vae_encoder.onnx']) {
      const full = onnx.ModelProto.decode(a.out.get(path)!).graph as onnx.GraphProto;
      const half = onnx.ModelProto.decode(b.out.get(path)!).graph as onnx.GraphProto;
      const F16 = onnx.TensorProto.DataType.FLOAT16;
      const casts = new Set(half.node.filter((n) => n.opType === 'Cast').map((n) => n.input![0]));
      const weights = half.initializer.filter((t) => !t.name!.startsWith('const.'));
      for (const t of weights) {
        const matrix = t.dims!.length === 4 && !/norm/.test(t.name!);
        expect([t.name, t.dataType, casts.has(t.name!)]).toEqual([t.name, matrix ? F16 : 1, matrix]);
      }
      expect(weights.filter((t) => t.dataType === F16).length).toBeGreaterThan(10);
      expect(full.initializer.every((t) => t.dataType !== F16)).toBe(true);
      expect(full.node.some((n) => n.opType === 'Cast')).toBe(false);
      expect(half.node.length - casts.size).toBe(full.node.length);
    }
  });

  it('F32 and BF16 sources, old attention names and [C, C, 1, 1] projections give the same files', async () => {
    const plain = memorySink();
    await convertVae(memoryReader(replicaVae()), plain.sink, { weights: 'f32' });
    const asF32 = replicaVae();
    rewrite(asF32, ([n, , s, b]) => [n, 'F32', s, f16ToF32Bytes(b)]);
    const old = replicaVae();
    const OLD: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };
    let renamed = 0;
    rewrite(old, ([n, , s, b]) => {
      const m = /^(.*\.attentions\.0)\.(to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(n);
      if (!m) return [n, 'F32', s, f16ToF32Bytes(b)];
      renamed++;
      return [`${m[1]}.${OLD[m[2]!]}.${m[3]}`, 'F32', s.length === 2 ? [...s, 1, 1] : s, f16ToF32Bytes(b)];
    });
    expect(renamed).toBe(16); // 4 projections × weight and bias × encoder and decoder
    for (const files of [asF32, old]) {
      const { sink, out } = memorySink();
      await convertVae(memoryReader(files), sink, { weights: 'f32' });
      for (const [p, bytes] of plain.out) expect(out.get(p), p).toEqual(bytes);
    }
    // BF16 values (the F16 ones rounded to 8 bits of mantissa) convert too, to other numbers
    const bf16 = replicaVae();
    rewrite(bf16, ([n, , s, b]) => {
      const f = new Uint32Array(f16ToF32Bytes(b).buffer);
      return [n, 'BF16', s, new Uint8Array(Uint16Array.from(f, (x) => x >>> 16).buffer)];
    });
    const { sink, out } = memorySink();
    await convertVae(memoryReader(bf16), sink, { weights: 'f32' });
    const dec = await run(out.get('vae_decoder.onnx')!, 'latent_sample', ref.latent!, ref.latent_shape!, 'sample');
    const d = maxAbsDiff(dec.data, ref.decoded!);
    expect(d).toBeGreaterThan(BOUND);
    expect(d).toBeLessThan(0.2);
  });

  it('at SDXL’s config: reads exactly SDXL’s tensors, under their names and shapes', async () => {
    const { reader, params } = sdxlZeroVae();
    expect(params).toBe(SDXL_VAE_PARAMS);
    const p = await planVae(reader, false);
    expect(p.config).toEqual({
      in_channels: 3,
      latent_channels: 4,
      downscale: 8,
      block_channels: [128, 256, 512, 512],
      scaling_factor: 0.13025,
      shift_factor: 0,
    });
    const read = p.graphs.flatMap((g) => g.weights.map((w) => [w.name, p.sources.get(w.name)!.info.shape] as const));
    expect(new Map(read)).toEqual(sdxlTensors());
    expect(read.length).toBe(sdxlTensors().size); // none read twice
  });

  it('refuses a config it does not build, naming the field, before writing anything', async () => {
    await expectRefused(withConfig({ _class_name: 'AutoencoderTiny' }), /AutoencoderTiny/, '_class_name');
    await expectRefused(
      withConfig({ down_block_types: ['DownEncoderBlock2D', 'AttnDownEncoderBlock2D'] }),
      /AttnDownEncoderBlock2D/,
      'down_block_types',
    );
    await expectRefused(withConfig({ up_block_types: ['UpDecoderBlock2D'] }), /one block per/, 'up_block_types');
    await expectRefused(withConfig({ act_fn: 'gelu' }), /gelu/, 'act_fn');
    await expectRefused(withConfig({ norm_num_groups: 3 }), /does not divide/, 'norm_num_groups');
    await expectRefused(withConfig({ in_channels: 4 }), /RGB/, 'in_channels');
    await expectRefused(withConfig({ scaling_factor: 0 }), /scaling_factor/, 'scaling_factor');
    await expectRefused(withConfig({ shift_factor: 'x' }), /shift_factor/, 'shift_factor');
    await expectRefused(withConfig({ latents_mean: [0, 0, 0, 0] }), /latents_mean/, 'latents_mean');
    const deeper = withConfig({ layers_per_block: 2 });
    await expectRefused(
      deeper,
      /no tensor decoder\.up_blocks\.0\.resnets\.2\.norm1\.weight/,
      'decoder.up_blocks.0.resnets.2.norm1.weight',
    );
  });

  it('refuses a missing, extra or mis-shaped tensor, a non-float one, and a .bin-only folder', async () => {
    const drop = replicaVae();
    rewrite(drop, (t) => (t[0] === 'decoder.up_blocks.0.upsamplers.0.conv.bias' ? ['x.extra', t[1], t[2], t[3]] : t));
    await expectRefused(
      drop,
      /no tensor decoder\.up_blocks\.0\.upsamplers\.0\.conv\.bias/,
      'decoder.up_blocks.0.upsamplers.0.conv.bias',
    );
    const extra = replicaVae();
    rewrite(extra, (t) => t);
    const ts = tensors(extra);
    extra.set(
      VAE_WEIGHTS,
      writeUnaligned([...ts, ['decoder.mid_block.attentions.0.query.weight', 'F32', [1], new Uint8Array(4)]]),
    );
    await expectRefused(extra, /query\.weight is not part/, 'decoder.mid_block.attentions.0.query.weight');
    const noAttention = withConfig({ mid_block_add_attention: false });
    await expectRefused(noAttention, /group_norm\.bias is not part/, 'decoder.mid_block.attentions.0.group_norm.bias');
    const shape = replicaVae();
    rewrite(shape, ([n, d, s, b]) => [n, d, n === 'encoder.conv_in.weight' ? [s[0]!, s[1]!, 1, 9] : s, b]);
    await expectRefused(
      shape,
      /conv_in\.weight has shape \[4, 3, 1, 9\]; .* means \[4, 3, 3, 3\]/,
      'encoder.conv_in.weight',
    );
    const norm = replicaVae();
    rewrite(norm, ([n, d, s, b]) => [n, d, n === 'decoder.conv_norm_out.weight' ? [s[0]!, 1, 1] : s, b]);
    await expectRefused(
      norm,
      /conv_norm_out\.weight has shape \[4, 1, 1\]; .* means \[4\]/,
      'decoder.conv_norm_out.weight',
    );
    const int8 = replicaVae();
    rewrite(int8, ([n, d, s, b]) => (n === 'quant_conv.bias' ? [n, 'I8', [8], new Uint8Array(8)] : [n, d, s, b]));
    await expectRefused(int8, /quant_conv\.bias is I8/, 'quant_conv.bias');
    const bin = replicaVae();
    bin.set('vae/diffusion_pytorch_model.bin', bin.get(VAE_WEIGHTS)!);
    bin.delete(VAE_WEIGHTS);
    await expectRefused(bin, /only diffusion_pytorch_model\.bin/, VAE_WEIGHTS);
  });
});
