/**
 * @file Painter cases on src/models/painter/dit.ts (unchanged): one denoising step (both CFG branches, condition K/V
 * cached) at OmniGen's layer shape with 1,024 and 4,096 image tokens, random f16 weights made on the device; and the
 * determinism record of a shipped pack: seeded noise → N steps on the pack's `painter.f32.safetensors` (the real
 * loader) with fixed conditions, every stage's latents hashed, and the 8-bit preview (the preview kernel's RGBA of
 * the last latents) hashed as the image. The VAE is not run (it is an ONNX model, onnxruntime-web in the browser):
 * the hashes stop before it.
 */
import { GpuBatch } from '../../gpu/batch';
import { emptyBuffer, readF32, readU32 } from '../../gpu/readback';
import type { LinearWeight } from '../../kernels/matmul';
import { noise } from '../../kernels/noise';
import { preview } from '../../kernels/preview';
import { ATTENTION_HEAD_DIMS } from '../../kernels/attention_shape';
import type { ConnectorConfig, PainterConfig } from '../../packs/manifest';
import { PainterEngine, type Condition } from '../../models/painter/dit';
import { sigmas } from '../../models/painter/tables';
import { uploadPainterWeights, type PainterWeights } from '../../models/painter/weights';
import type { DecoderLayerWeights, GpuLinear } from '../../models/layers/weights';
import { timeCalls, type BenchCase, type CaseOutput, type Preset } from './case';
import { filledBuffer, randomF32, repoFile, repoJson, sha256, stats, type Stats } from './data';

export interface PainterShape {
  label: string;
  hidden: number;
  layers: number;
  heads: number;
  headDim: number;
  inter: number;
}

/** OmniGen's DiT layer (Phi-3: hidden 3072, 32 layers, 32 heads × 96, intermediate 8192). */
export const OMNIGEN: PainterShape = {
  label: 'OmniGen',
  hidden: 3072,
  layers: 32,
  heads: 32,
  headDim: 96,
  inter: 8192,
};
/** The same widths with 24 heads × 128, a head size our attention kernel has (a proxy while 96 is unsupported). */
export const OMNIGEN_H128: PainterShape = {
  label: 'OmniGen-width h128 proxy',
  hidden: 3072,
  layers: 32,
  heads: 24,
  headDim: 128,
  inter: 8192,
};
/** The tiny-random pack's painter widths (for the tiny run of the same step code). */
export const TINY_PAINTER: PainterShape = { label: 'tiny', hidden: 64, layers: 2, heads: 2, headDim: 32, inter: 128 };

const LATENT_C = 4;
const PATCH = 2;
const COND_ROWS = 128;

function painterConfig(s: PainterShape): PainterConfig {
  return {
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.heads,
    head_dim: s.headDim as PainterConfig['head_dim'],
    intermediate_size: s.inter,
    rope_theta: 10000,
    rms_norm_eps: 1e-5,
    latent_channels: LATENT_C,
    patch_size: PATCH,
    timestep_freq_dim: 256,
    timestep_scale: 1,
    time_embedders: 'separate',
    timestep_max_period: 10000,
    final_norm_eps: 1e-6,
    pos_embed_max_size: 192,
    pos_embed_scale: 1,
    pos_embed_base: 10000,
  };
}

function layerParams(s: PainterShape): number {
  const qkv = 3 * s.heads * s.headDim * s.hidden;
  return qkv + s.hidden * s.heads * s.headDim + 3 * s.inter * s.hidden;
}

/** Random f16 layer weights (f32 for the small projections) of `s` on the device; one connector layer. */
function randomPainterWeights(device: GPUDevice, s: PainterShape): PainterWeights {
  const bufs: GPUBuffer[] = [];
  const mk = (bytes: number, kind: Parameters<typeof filledBuffer>[2], label: string) => {
    const b = filledBuffer(device, bytes, kind, label);
    bufs.push(b);
    return b;
  };
  const lin = (N: number, K: number, label: string, format: 'f16' | 'f32', bias = false): GpuLinear => {
    const w: LinearWeight = { format, out: N, in: K, weight: mk(N * K * (format === 'f16' ? 2 : 4), format, label) };
    return { w, bias: bias ? mk(N * 4, 'f32', `${label} bias`) : undefined };
  };
  const P = s.hidden;
  const qkv = 3 * s.heads * s.headDim;
  const layer = (p: string): DecoderLayerWeights => ({
    inputNorm: mk(P * 4, 'ones', `${p} input norm`),
    postNorm: mk(P * 4, 'ones', `${p} post norm`),
    qkv: lin(qkv, P, `${p} qkv`, 'f16'),
    o: lin(P, s.heads * s.headDim, `${p} o`, 'f16'),
    gateUp: lin(2 * s.inter, P, `${p} gate_up`, 'f16'),
    down: lin(P, s.inter, `${p} down`, 'f16'),
  });
  const feat = LATENT_C * PATCH * PATCH;
  try {
    return {
      variant: 'f32',
      embedTokens: null,
      connector: {
        inputProj: lin(P, P, 'connector in', 'f32', true),
        layers: [layer('connector 0')],
        norm: null,
      },
      painter: {
        xEmbedder: lin(P, feat, 'x_embedder', 'f32', true),
        timeToken: { l1: lin(P, 256, 'time_token 1', 'f32', true), l2: lin(P, P, 'time_token 2', 'f32', true) },
        tEmbedder: { l1: lin(P, 256, 't_embedder 1', 'f32', true), l2: lin(P, P, 't_embedder 2', 'f32', true) },
        layers: Array.from({ length: s.layers }, (_, l) => layer(`painter ${l}`)),
        norm: mk(P * 4, 'ones', 'painter norm'),
        adaLN: lin(2 * P, P, 'adaLN', 'f32', true),
        finalLinear: lin(feat, P, 'final', 'f32', true),
      },
      bytes: 0,
      dispose: () => {
        for (const b of bufs) b.destroy();
        bufs.length = 0;
      },
    };
  } catch (e) {
    for (const b of bufs) b.destroy();
    throw e;
  }
}

/** One cached painter step (both CFG branches) at `tokens` image tokens. */
export function painterStepCase(s: PainterShape, tokens: number, preset: Preset = 'real'): BenchCase {
  const side = Math.round(Math.sqrt(tokens)) * PATCH;
  const T = 1 + tokens;
  const layerBytes = layerParams(s) * 2;
  const kvCache = 2 * s.layers * 2 * COND_ROWS * s.heads * s.headDim * 4;
  const acts = 2 * (COND_ROWS + T) * (6 * s.hidden + 3 * s.heads * s.headDim + 3 * s.inter) * 4;
  return {
    name: `painter step ${s.label} ${tokens} tokens`,
    group: 'painter',
    preset,
    sizes:
      `${s.layers} layers, hidden ${s.hidden}, ${s.heads} heads × ${s.headDim}, inter ${s.inter}; ${tokens} image ` +
      `tokens (latent ${side}×${side}, patch ${PATCH}), ${COND_ROWS}-row conditions, CFG batch 2; f16 weights`,
    memoryBytes: (s.layers + 1) * layerBytes + kvCache + acts,
    largestBuffer: 2 * T * 2 * s.inter * 4,
    unsupported: () =>
      ATTENTION_HEAD_DIMS.includes(s.headDim)
        ? null
        : `the attention kernels support head_dim ${ATTENTION_HEAD_DIMS.join('/')}, not ${s.headDim}`,
    async run(ctx): Promise<CaseOutput> {
      const { device } = ctx;
      const pc = painterConfig(s);
      const cc: ConnectorConfig = { input_size: s.hidden, ...pc, final_norm: false };
      const engine = new PainterEngine(device, randomPainterWeights(device, s), cc, pc);
      const cond = (seed: number): Condition => ({
        rows: COND_ROWS,
        hidden: s.hidden,
        cpu: randomF32(COND_ROWS * s.hidden, seed),
      });
      const session = engine.session({ conditions: [cond(1), cond(2)], h: side, w: side, timesteps: [0, 0.5] });
      const z = emptyBuffer(device, LATENT_C * side * side * 4, 'z');
      try {
        const prep = new GpuBatch(device, 'prepare');
        noise(prep, { out: z, count: LATENT_C * side * side, seed: 1 });
        session.encodePrepare(prep);
        session.encodePrefix(prep);
        prep.submit();
        const t = await timeCalls(
          device,
          () => {
            const b = new GpuBatch(device, 'step');
            session.encodeStep(b, 0, z, z, 3, 0.01);
            b.submit();
          },
          ctx.reps,
        );
        const flops =
          2 * 2 * T * layerParams(s) * s.layers + 4 * 2 * s.layers * s.heads * s.headDim * T * (COND_ROWS + T);
        return {
          ms: t.ms,
          bytes: s.layers * layerBytes + kvCache,
          flops,
          peak: 'fp16',
          notes: [
            `${t.iterations} steps per sample; engine matmuls: f16 weights, f32 tiles (the engine has no f16 tiles)`,
          ],
          checks: [],
        };
      } finally {
        z.destroy();
        session.dispose();
        engine.dispose();
      }
    },
  };
}

/** One stage of a determinism record. */
export interface StageHash {
  stage: string;
  sha256: string;
  stats?: Stats;
}

export interface PackRecord {
  pack: string;
  seed: number;
  steps: number;
  width: number;
  height: number;
  stages: StageHash[];
}

interface PackManifest {
  connector: ConnectorConfig;
  painter: PainterConfig;
  vae: { downscale: number; scaling_factor: number; shift_factor: number };
  paths: { painter_weights: Record<string, string> };
}

/** The same linear map as the app's preview (src/models/painter/index.ts): RGB from the first three channels. */
function previewMap(C: number, scale: number, shift: number): { matrix: number[]; bias: number[] } {
  const matrix = new Array<number>(3 * C).fill(0);
  for (let c = 0; c < 3; c++) matrix[c * C + Math.min(c, C - 1)] = 0.5 / scale;
  return { matrix, bias: [0, 1, 2].map(() => 0.5 + 0.5 * shift) };
}

/**
 * Paints `pack` (a folder under public/models) with seed `seed`, `steps` Euler steps, guidance 3, fixed random
 * conditions (12 and 5 rows), 32×32 pixels, and hashes each stage: the noise, the latents after every step, the
 * preview RGBA of the last latents.
 */
export async function packRecord(
  device: GPUDevice,
  pack: string,
  seed: number,
  steps = 4,
  size = 32,
): Promise<PackRecord> {
  const dir = `public/models/${pack}`;
  const m = repoJson<PackManifest>(`${dir}/manifest.json`);
  const file = repoFile(`${dir}/${m.paths.painter_weights.f32}`);
  const engine = new PainterEngine(
    device,
    uploadPainterWeights(device, file, m.connector, m.painter, 'f32'),
    m.connector,
    m.painter,
  );
  const C = m.painter.latent_channels;
  const h = size / m.vae.downscale;
  const w = size / m.vae.downscale;
  const n = C * h * w;
  const H = m.connector.input_size;
  const sig = sigmas(0, steps);
  const session = engine.session({
    conditions: [
      { rows: 12, hidden: H, cpu: randomF32(12 * H, 101) },
      { rows: 5, hidden: H, cpu: randomF32(5 * H, 102) },
    ],
    h,
    w,
    timesteps: sig.subarray(0, steps),
  });
  const z = emptyBuffer(device, n * 4, 'z');
  const rgba = emptyBuffer(device, h * w * 4, 'preview');
  const stages: StageHash[] = [];
  const record = async (stage: string) => {
    const v = await readF32(device, z, n);
    stages.push({ stage, sha256: await sha256(v), stats: stats(v) });
  };
  try {
    const b = new GpuBatch(device, 'paint prepare');
    noise(b, { out: z, count: n, seed });
    session.encodePrepare(b);
    session.encodePrefix(b);
    b.submit();
    await record('noise');
    for (let i = 0; i < steps; i++) {
      const s = new GpuBatch(device, 'paint step');
      session.encodeStep(s, i, z, z, 3, Math.fround(sig[i + 1]! - sig[i]!));
      s.submit();
      await record(`step ${i + 1}`);
    }
    const p = new GpuBatch(device, 'preview');
    preview(p, {
      latents: z,
      out: rgba,
      channels: C,
      height: h,
      width: w,
      ...previewMap(C, m.vae.scaling_factor, m.vae.shift_factor),
    });
    p.submit();
    stages.push({ stage: 'preview rgba8', sha256: await sha256(await readU32(device, rgba, h * w)) });
    return { pack, seed, steps, width: size, height: size, stages };
  } finally {
    z.destroy();
    rgba.destroy();
    session.dispose();
    engine.dispose();
  }
}
