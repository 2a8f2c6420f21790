// The painter safetensors of the tiny-random pack follow docs/formats.md: names, shapes, dtypes, alignment, and
// int8 / int4 values that dequantise to the f32 weights within half a quantisation step.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseManifest, type WeightVariant } from '../../../src/packs/manifest';
import { dequantLinear, linearWeights, parseSafetensors, tensorData, tensorF32 } from '../../../src/packs/safetensors';
import { RgError } from '../../../src/errors';
import { writeSafetensors } from '../../helpers/safetensors';

const PACK = fileURLToPath(new URL('../../../public/models/tiny-random/', import.meta.url));
const manifest = parseManifest(JSON.parse(readFileSync(PACK + 'manifest.json', 'utf8')));
const { painter: P } = manifest;
const C = manifest.connector!; // tiny-random is a mindomni-kind pack
const load = (v: WeightVariant) => {
  const bytes = new Uint8Array(readFileSync(PACK + manifest.paths.painter_weights[v]!));
  return { bytes, st: parseSafetensors(bytes, v) };
};

/** Every linear with its [out, in], whether it has a bias, and whether the int variants quantise it. */
function linears() {
  const out: { name: string; out: number; in: number; bias: boolean; quantised: boolean }[] = [];
  const layer = (prefix: string, c: typeof C | typeof P, n: number) => {
    for (let l = 0; l < n; l++) {
      const p = `${prefix}.layers.${l}`;
      const qkv = (c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim;
      out.push({ name: `${p}.self_attn.qkv_proj`, out: qkv, in: c.hidden_size, bias: false, quantised: true });
      out.push({
        name: `${p}.self_attn.o_proj`,
        out: c.hidden_size,
        in: c.num_attention_heads * c.head_dim,
        bias: false,
        quantised: true,
      });
      out.push({
        name: `${p}.mlp.gate_up_proj`,
        out: 2 * c.intermediate_size,
        in: c.hidden_size,
        bias: false,
        quantised: true,
      });
      out.push({
        name: `${p}.mlp.down_proj`,
        out: c.hidden_size,
        in: c.intermediate_size,
        bias: false,
        quantised: true,
      });
    }
  };
  out.push({ name: 'connector.input_proj', out: C.hidden_size, in: C.input_size, bias: true, quantised: false });
  layer('connector', C, C.num_hidden_layers);
  const p2c = P.patch_size * P.patch_size * P.latent_channels;
  out.push({ name: 'painter.x_embedder', out: P.hidden_size, in: p2c, bias: true, quantised: false });
  // OmniGen: two embedders, each mlp = Sequential(Linear, SiLU, Linear) (tiny-random has time_embedders 'separate').
  expect(P.time_embedders).toBe('separate');
  expect(C.final_norm).toBe(false);
  for (const e of ['time_token', 't_embedder']) {
    out.push({ name: `painter.${e}.mlp.0`, out: P.hidden_size, in: P.timestep_freq_dim, bias: true, quantised: false });
    out.push({ name: `painter.${e}.mlp.2`, out: P.hidden_size, in: P.hidden_size, bias: true, quantised: false });
  }
  layer('painter', P, P.num_hidden_layers);
  out.push({
    name: 'painter.final_layer.adaLN_modulation',
    out: 2 * P.hidden_size,
    in: P.hidden_size,
    bias: true,
    quantised: false,
  });
  out.push({ name: 'painter.final_layer.linear', out: p2c, in: P.hidden_size, bias: true, quantised: false });
  return out;
}

function norms(): [string, number][] {
  const out: [string, number][] = [];
  for (const [prefix, c] of [
    ['connector', C],
    ['painter', P],
  ] as const) {
    for (let l = 0; l < c.num_hidden_layers; l++) {
      out.push([`${prefix}.layers.${l}.input_layernorm.weight`, c.hidden_size]);
      out.push([`${prefix}.layers.${l}.post_attention_layernorm.weight`, c.hidden_size]);
    }
    // MindOmni's connector (Linear + Phi-3 layers) has no final norm: tiny-random's file has no connector.norm.
    if (prefix === 'painter' || C.final_norm) out.push([`${prefix}.norm.weight`, c.hidden_size]);
  }
  return out;
}

describe('painter safetensors', () => {
  const f32 = load('f32');

  it.each(['f32', 'int8', 'int4'] as const)('%s: exactly the documented tensors, with the documented forms', (v) => {
    const { st } = load(v);
    const expected = new Set<string>();
    for (const l of linears()) {
      const lw = linearWeights(st, l.name);
      expect([lw.out, lw.in], l.name).toEqual([l.out, l.in]);
      expect(lw.bias !== undefined, l.name).toBe(l.bias);
      expect(lw.kind, l.name).toBe(l.quantised && v !== 'f32' ? v : 'f32');
      expected.add(lw.weight);
      if ('scale' in lw) expected.add(lw.scale);
      if (lw.bias) expected.add(lw.bias);
    }
    for (const [n, d] of norms()) {
      expect(st.tensors.get(n)?.shape, n).toEqual([d]);
      expected.add(n);
    }
    expect([...st.tensors.keys()].sort()).toEqual([...expected].sort());
    expect(st.metadata['rgvlm.quantisation']).toBe(v);
  });

  it.each(['int8', 'int4'] as const)('%s dequantises to the f32 weights within half a step', (v) => {
    const q = load(v);
    for (const l of linears().filter((x) => x.quantised)) {
      const w = tensorF32(f32.bytes, f32.st, `${l.name}.weight`);
      const lq = linearWeights(q.st, l.name);
      const d = dequantLinear(q.bytes, q.st, lq);
      const s = tensorF32(q.bytes, q.st, `${l.name}.weight_scale`);
      const block = v === 'int8' ? l.in : 32;
      let worst = -Infinity; // max of |w - dequant| - step / 2
      for (let i = 0; i < w.length; i++) {
        const r = Math.floor(i / l.in);
        const scale = s[r * (l.in / block) + Math.floor((i % l.in) / block)];
        worst = Math.max(worst, Math.abs(w[i] - d[i]) - scale * 0.5);
      }
      expect(worst, l.name).toBeLessThanOrEqual(1e-6);
    }
  });

  it('refuses damaged files with INTEGRITY errors', () => {
    const cut = f32.bytes.subarray(0, f32.bytes.length - 4);
    expect(() => parseSafetensors(cut, 'cut')).toThrowError(RgError);
    const bad = f32.bytes.slice();
    bad[8] = 0x78; // corrupt the JSON header's opening brace
    expect(() => parseSafetensors(bad, 'bad')).toThrowError(/header/);
    expect(() => parseSafetensors(new Uint8Array(4))).toThrowError(RgError);
  });
});

describe('tensorData', () => {
  it('copies a tensor out as the typed array of its dtype and refuses another dtype', () => {
    const bytes = new Uint8Array(readFileSync(PACK + 'painter.int4.safetensors'));
    const st = parseSafetensors(bytes);
    const q = tensorData(bytes, st, 'painter.layers.0.mlp.gate_up_proj.weight_q4', 'U8');
    expect(q).toBeInstanceOf(Uint8Array);
    expect(q.length).toBe(256 * 32);
    const s = tensorData(bytes, st, 'painter.layers.0.mlp.gate_up_proj.weight_scale', 'F32');
    expect(s).toBeInstanceOf(Float32Array);
    expect(s.length).toBe(512);
    expect(() => tensorData(bytes, st, 'painter.layers.0.mlp.gate_up_proj.weight_scale', 'I8')).toThrow(
      'painter.layers.0.mlp.gate_up_proj.weight_scale is not an I8 tensor (it is F32)',
    );
  });
});

describe('BF16 tensors', () => {
  it('parse, read as their 16-bit words, and count as a bf16 linear that dequantises exactly', () => {
    // 1.5, -2, 0.1 as bf16 bits (0.1 rounds to 0x3dcd); a weight [1, 4] with one more value.
    const bits = Uint16Array.of(0x3fc0, 0xc000, 0x3dcd, 0x0000);
    const file = writeSafetensors([
      ['p.bias', 'F32', [1], Float32Array.of(0.5)],
      ['p.weight', 'BF16', [1, 4], bits],
    ]);
    const st = parseSafetensors(file, 'bf16.safetensors');
    expect(st.tensors.get('p.weight')!.dtype).toBe('BF16');
    expect(Array.from(tensorData(file, st, 'p.weight', 'BF16'))).toEqual(Array.from(bits));
    const lw = linearWeights(st, 'p');
    expect(lw).toMatchObject({ kind: 'bf16', out: 1, in: 4, bias: 'p.bias' });
    expect(Array.from(dequantLinear(file, st, lw))).toEqual([1.5, -2, Math.fround(0.10009765625), 0]);
  });
});
