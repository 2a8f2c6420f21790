// onnxruntime-web (WASM backend, in node) loads every ONNX file of the tiny-random pack and reproduces the PyTorch
// fixtures: greedy tokens with a KV cache (prefill + decode loop) and their hidden states, the vision encoder, the
// painter velocity, the VAE, and the whole Imagine / Edit reference path (ORT reasoner -> ORT painter with a CPU
// Euler step -> ORT VAE), the way a plain ONNX export of the same network would be run.
import { readFileSync } from 'node:fs';
import { decodePngRgba } from '../../../src/pipeline/png';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseManifest, type Manifest } from '../../../src/packs/manifest';

const PACK = fileURLToPath(new URL('../../../public/models/tiny-random/', import.meta.url));
const FIX = fileURLToPath(new URL('../../fixtures/tiny-random/', import.meta.url));
const fx = JSON.parse(readFileSync(FIX + 'fixtures.json', 'utf8'));
const manifest: Manifest = parseManifest(JSON.parse(readFileSync(PACK + 'manifest.json', 'utf8')));
const R = manifest.reasoner;
const ANSWER_END = R.special_tokens.answer_end!;

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

// ------------------------------------------------------------------------------------------------ helpers
function f32file(name: string): Float32Array {
  const b = readFileSync(FIX + name);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
const f32 = (data: Float32Array | number[], dims: number[]) => new ort.Tensor('float32', Float32Array.from(data), dims);
const i64 = (data: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(data.map(BigInt)), dims);
const data = (t: ort.Tensor) => t.data as Float32Array;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function checksum(a: ArrayLike<number>) {
  let sum = 0;
  let abs = 0;
  for (let i = 0; i < a.length; i++) {
    sum += a[i];
    abs += Math.abs(a[i]);
  }
  return { sum, abs_sum: abs, count: a.length };
}

function expectChecksum(a: ArrayLike<number>, want: { sum: number; abs_sum: number; count: number }) {
  const got = checksum(a);
  expect(got.count).toBe(want.count);
  const tol = 1e-5 * want.abs_sum + 1e-3;
  expect(Math.abs(got.sum - want.sum)).toBeLessThan(tol);
  expect(Math.abs(got.abs_sum - want.abs_sum)).toBeLessThan(tol);
}

/** Decodes a PNG the tools wrote (with the app's own decoder) -> [H, W, 3] bytes. */
function decodePng(buf: Buffer): { width: number; height: number; rgb: Uint8Array } {
  const { width, height, rgba } = decodePngRgba(new Uint8Array(buf));
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(rgba.subarray(i * 4, i * 4 + 3), i * 3);
  return { width, height, rgb };
}

/** uint8 [H, W, 3] -> NCHW f32 in [-1, 1] (pixel / 127.5 - 1), the VAE's input. */
function toVaeInput(rgb: Uint8Array, h: number, w: number): Float32Array {
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let p = 0; p < h * w; p++) out[c * h * w + p] = Math.fround(Math.fround(rgb[p * 3 + c] / 127.5) - 1);
  return out;
}

/** VAE output [1, 3, H, W] -> uint8 [H, W, 3] with floor(clamp(x*0.5+0.5, 0, 1) * 255 + 0.5). */
function toPixels(x: Float32Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w * 3);
  for (let c = 0; c < 3; c++)
    for (let p = 0; p < h * w; p++) {
      const v = Math.min(1, Math.max(0, Math.fround(Math.fround(x[c * h * w + p] * 0.5) + 0.5)));
      out[p * 3 + c] = Math.floor(Math.fround(v * 255) + 0.5);
    }
  return out;
}

// ------------------------------------------------------------------------------------------------ sessions
const S: Record<string, ort.InferenceSession> = {};
const NAMES = ['vision_encoder', 'embed_tokens', 'decoder', 'vae_encoder', 'vae_decoder', 'painter_onnx'] as const;

beforeAll(async () => {
  for (const k of NAMES) {
    const path = manifest.paths[k];
    expect(path, k).toBeDefined();
    S[k] = await ort.InferenceSession.create(readFileSync(PACK + path!), { executionProviders: ['wasm'] });
  }
});

interface Gen {
  generated: number[];
  /** [rows, hidden]: prefill rows then one row per generated token fed back (MindOmni's pre-norm condition) */
  hidden: Float32Array;
  /** The same rows after the final norm (`last_hidden_state`, the old condition) */
  postNorm: Float32Array;
  rows: number;
}

/** Greedy decoding with the KV cache, the way the app's reasoner runs the onnx-community files. */
/** `rowStop`: stop ids fed once more for their own condition row (MindOmni's `</answer>`). */
async function generate(
  ids: number[],
  pixelValues: Float32Array | null,
  maxNew: number,
  stop: number[],
  rowStop: number[] = [],
): Promise<Gen> {
  const H = R.hidden_size;
  const emb = data((await S.embed_tokens.run({ input_ids: i64(ids, [1, ids.length]) })).inputs_embeds).slice();
  if (pixelValues) {
    const v = R.vision!;
    const feats = data(
      (await S.vision_encoder.run({ pixel_values: f32(pixelValues, [1, 3, v.image_size, v.image_size]) }))
        .image_features,
    );
    let k = 0;
    ids.forEach((id, pos) => {
      if (id === R.image_token_id) emb.set(feats.subarray(k * H, ++k * H), pos * H);
    });
    expect(k).toBe(R.num_image_tokens);
  }
  const past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < R.num_hidden_layers; l++)
    for (const kv of ['key', 'value'])
      past[`past_key_values.${l}.${kv}`] = f32([], [1, R.num_key_value_heads, 0, R.head_dim]);

  const rows: Float32Array[] = [];
  const postRows: Float32Array[] = [];
  const generated: number[] = [];
  let feeds: Record<string, ort.Tensor> = {
    inputs_embeds: f32(emb, [1, ids.length, H]),
    attention_mask: i64(Array(ids.length).fill(1), [1, ids.length]),
    position_ids: i64([...ids.keys()], [1, ids.length]),
  };
  let total = ids.length;
  let feedOnly = false;
  for (;;) {
    const out = await S.decoder.run({ ...feeds, ...past });
    rows.push(data(out.pre_norm_hidden_state).slice());
    postRows.push(data(out.last_hidden_state).slice());
    if (feedOnly) break;
    for (let l = 0; l < R.num_hidden_layers; l++)
      for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`];
    const logits = data(out.logits);
    const V = R.vocab_size;
    const last = logits.subarray(logits.length - V);
    let best = 0;
    for (let i = 1; i < V; i++) if (last[i] > last[best]) best = i;
    generated.push(best);
    if (stop.includes(best) && rowStop.includes(best)) feedOnly = true;
    else if (stop.includes(best) || generated.length >= maxNew) break;
    const e = data((await S.embed_tokens.run({ input_ids: i64([best], [1, 1]) })).inputs_embeds);
    total += 1;
    feeds = {
      inputs_embeds: f32(e, [1, 1, H]),
      attention_mask: i64(Array(total).fill(1), [1, total]),
      position_ids: i64([total - 1], [1, 1]),
    };
  }
  const cat = (parts: Float32Array[]) => {
    const all = new Float32Array(parts.reduce((a, r) => a + r.length, 0));
    let o = 0;
    for (const r of parts) {
      all.set(r, o);
      o += r.length;
    }
    return all;
  };
  const hidden = cat(rows);
  return { generated, hidden, postNorm: cat(postRows), rows: hidden.length / H };
}

async function prefill(ids: number[]): Promise<Gen> {
  // max_new_tokens = 0: the prefill's hidden states only (the negative condition)
  const g = await generate(ids, null, 1, []);
  return { ...g, generated: [] };
}

async function velocity(cond: Float32Array, rows: number, z: Float32Array, shape: number[], t: number) {
  const out = await S.painter_onnx.run({
    condition: f32(cond, [1, rows, R.hidden_size]),
    latents: f32(z, shape),
    timestep: f32([t], [1]),
  });
  return data(out.velocity);
}

/** Euler over the fixture's sigmas with CFG, each branch its own painter run; returns z_0 .. z_N. */
async function sampleCfg(pos: Gen, neg: Gen, z0: Float32Array, shape: number[], sigmas: number[], g: number) {
  let z = z0.slice();
  const zs = [z];
  for (let i = 0; i + 1 < sigmas.length; i++) {
    const vc = await velocity(pos.hidden, pos.rows, z, shape, sigmas[i]);
    const vu = await velocity(neg.hidden, neg.rows, z, shape, sigmas[i]);
    const dt = Math.fround(sigmas[i + 1] - sigmas[i]);
    const next = new Float32Array(z.length);
    for (let k = 0; k < z.length; k++) {
      const v = Math.fround(vu[k] + Math.fround(g * Math.fround(vc[k] - vu[k])));
      next[k] = Math.fround(z[k] + Math.fround(dt * v));
    }
    z = next;
    zs.push(z);
  }
  return zs;
}

async function vaeDecode(z: Float32Array, shape: number[]) {
  const x = z.map((v) => Math.fround(Math.fround(v / manifest.vae.scaling_factor) + manifest.vae.shift_factor));
  return data((await S.vae_decoder.run({ latent_sample: f32(x, shape) })).sample);
}

// ------------------------------------------------------------------------------------------------ tests
describe('onnxruntime-web (wasm) runs the tiny-random ONNX files', () => {
  it('every session has the documented inputs and outputs', () => {
    const kv = (p: string) =>
      Array.from({ length: R.num_hidden_layers }, (_, l) => [`${p}.${l}.key`, `${p}.${l}.value`]).flat();
    expect(S.vision_encoder.inputNames).toEqual(['pixel_values']);
    expect(S.vision_encoder.outputNames).toEqual(['image_features']);
    expect(S.embed_tokens.inputNames).toEqual(['input_ids']);
    expect(S.embed_tokens.outputNames).toEqual(['inputs_embeds']);
    expect(S.decoder.inputNames).toEqual(['inputs_embeds', 'attention_mask', 'position_ids', ...kv('past_key_values')]);
    expect(S.decoder.outputNames).toEqual(['logits', ...kv('present'), 'last_hidden_state', 'pre_norm_hidden_state']);
    expect(S.vae_encoder.inputNames).toEqual(['sample']);
    expect(S.vae_encoder.outputNames).toEqual(['latent_sample']);
    expect(S.vae_decoder.inputNames).toEqual(['latent_sample']);
    expect(S.vae_decoder.outputNames).toEqual(['sample']);
    expect(S.painter_onnx.inputNames).toEqual(['condition', 'latents', 'timestep']);
    expect(S.painter_onnx.outputNames).toEqual(['velocity']);
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const greedy: [string, any][] = fx.greedy.map((g: { name: string }) => [g.name, g]);
  it.each(greedy)('greedy %s: same tokens and hidden states as PyTorch', async (_, g) => {
    const pv = g.pixel_values ? f32file(g.pixel_values.file) : null;
    if (pv) {
      const v = R.vision!;
      const feats = data(
        (await S.vision_encoder.run({ pixel_values: f32(pv, [1, 3, v.image_size, v.image_size]) })).image_features,
      );
      expectChecksum(feats, g.image_features_checksum);
    }
    const out = await generate(g.input_ids, pv, g.max_new_tokens, fx.stop_ids_understand);
    expect(out.generated).toEqual(g.generated_ids);
    expect(out.rows).toBe(g.hidden_rows);
    expect(out.rows).toBe(g.prompt_length + g.generated_ids.length - 1);
    expectChecksum(out.hidden, g.hidden_checksum);
    expectChecksum(out.hidden.subarray(0, g.prompt_length * R.hidden_size), g.prefill_hidden_checksum);
    // the condition is the pre-norm state: the post-norm rows match PyTorch's post-norm rows, not the condition
    expectChecksum(out.postNorm, g.post_norm_hidden_checksum);
    expect(Math.abs(checksum(out.postNorm).abs_sum - g.hidden_checksum.abs_sum)).toBeGreaterThan(1);
  });

  it("a row stop (MindOmni's </answer>) gets its own condition row", async () => {
    const rs = fx.row_stop;
    const g = fx.greedy.find((x: { name: string }) => x.name === rs.greedy);
    const out = await generate(g.input_ids, null, g.max_new_tokens, [rs.stop_id], [rs.stop_id]);
    expect(out.generated).toEqual(rs.generated_ids);
    expect(out.rows).toBe(g.prompt_length + rs.step + 1);
    expect(out.rows).toBe(rs.hidden_rows);
    expectChecksum(out.hidden, rs.hidden_checksum);
    expectChecksum(out.hidden.subarray((out.rows - 1) * R.hidden_size), rs.last_row_checksum);
  });

  it('painter.onnx reproduces the velocity fixture (1e-4)', async () => {
    const p = fx.painter;
    const v = await velocity(
      f32file(p.condition.file),
      p.condition.shape[1],
      f32file(p.latents.file),
      p.latents.shape,
      p.timestep,
    );
    expect(maxAbsDiff(v, f32file(p.velocity.f32.file))).toBeLessThan(p.tolerance);
  });

  it('vae_encoder reproduces the Edit x1; vae_decoder the Imagine image', async () => {
    const png = decodePng(readFileSync(FIX + fx.edit.input_png));
    const x = toVaeInput(png.rgb, png.height, png.width);
    const m = data((await S.vae_encoder.run({ sample: f32(x, [1, 3, png.height, png.width]) })).latent_sample);
    const x1 = m.map((v) => Math.fround(Math.fround(v - manifest.vae.shift_factor) * manifest.vae.scaling_factor));
    expect(maxAbsDiff(x1, f32file(fx.edit.x1.file))).toBeLessThan(1e-4);

    const I = fx.imagine;
    const zs = f32file(I.latents.file);
    const n = zs.length / I.latents.shape[0];
    const img = await vaeDecode(zs.subarray(zs.length - n), I.latent_shape);
    expect(maxAbsDiff(img, f32file(I.image.file))).toBeLessThan(1e-4);
  });

  it('the whole Imagine reference path: ORT reasoner -> ORT painter (CPU Euler, CFG) -> ORT VAE', async () => {
    const I = fx.imagine;
    const pos = await generate(I.input_ids, null, I.max_new_tokens, fx.stop_ids_imagine, [ANSWER_END]);
    expect(pos.generated).toEqual(I.generated_ids);
    expect(pos.rows).toBe(I.condition_length_positive);
    expect(maxAbsDiff(pos.hidden, f32file(I.condition.file))).toBeLessThan(1e-4);
    const neg = await prefill(fx.negative.input_ids);
    expect(neg.rows).toBe(I.condition_length_negative);
    expect(maxAbsDiff(neg.hidden, f32file(fx.negative.condition.file))).toBeLessThan(1e-4);

    const ref = f32file(I.latents.file);
    const n = ref.length / I.latents.shape[0];
    const z0 = ref.subarray(0, n); // z_0 is the seeded noise (fixtures.noise checks its first values)
    expect(Array.from(z0.subarray(0, 16))).toEqual(fx.noise.first16.map(Math.fround));
    const zs = await sampleCfg(pos, neg, z0, I.latent_shape, I.sigmas, I.guidance);
    for (let s = 0; s < zs.length; s++) expect(maxAbsDiff(zs[s], ref.subarray(s * n, (s + 1) * n))).toBeLessThan(1e-4);
    const img = await vaeDecode(zs[zs.length - 1], I.latent_shape);
    expect(maxAbsDiff(img, f32file(I.image.file))).toBeLessThan(1e-4);
    const px = toPixels(img, I.height, I.width);
    const want = decodePng(readFileSync(FIX + I.png)).rgb;
    let off = 0;
    for (let k = 0; k < px.length; k++) off += Math.abs(px[k] - want[k]) > 1 ? 100 : Math.abs(px[k] - want[k]);
    expect(off).toBeLessThanOrEqual(8); // at most a few pixels one level apart at a rounding boundary
  });

  it('the whole Edit reference path (image in the reasoner, VAE-encoded start at t0 = 1 - strength)', async () => {
    const E = fx.edit;
    const pos = await generate(E.input_ids, f32file(E.pixel_values.file), E.max_new_tokens, fx.stop_ids_imagine, [
      ANSWER_END,
    ]);
    expect(pos.generated).toEqual(E.generated_ids);
    expect(maxAbsDiff(pos.hidden, f32file(E.condition.file))).toBeLessThan(1e-4);
    const neg = await prefill(fx.negative.input_ids);
    const ref = f32file(E.latents.file);
    const n = ref.length / E.latents.shape[0];
    const zs = await sampleCfg(pos, neg, ref.subarray(0, n), E.latent_shape, E.sigmas, E.guidance);
    for (let s = 0; s < zs.length; s++) expect(maxAbsDiff(zs[s], ref.subarray(s * n, (s + 1) * n))).toBeLessThan(1e-4);
    const img = await vaeDecode(zs[zs.length - 1], E.latent_shape);
    expect(maxAbsDiff(img, f32file(E.image.file))).toBeLessThan(1e-4);
  });
});
