/**
 * @file The image–text similarity slot backed by a pack's ONNX model (CLIP in the paper), declared in the manifest as
 * `rewards.similarity` (src/packs/manifest.ts RewardsSchema). No pack ships one yet, so this path is written to
 * the contract and not exercised by tests; the "off" path (no declaration → null scorer) is.
 *
 * Contract: inputs `input_ids`, `attention_mask` (int64 [1, L], the tokenizer's own special tokens added, cut to
 * max_length) and `pixel_values` (f32 [1, 3, S, S]: bilinear resize to S, (x / 255 − mean) / std, NCHW RGB); output
 * `logits_per_image` [1, 1] = logit_scale · cos(image, text), which rewards.ts maps to max(s, 0) / 100.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { RgError } from '../../errors';
import type { Manifest } from '../../packs/manifest';
import type { PackSource } from '../../packs/source';
import type { BackendChoice } from '../../runtime/backend';
import { cpuTensor, createSession, run, type OrtSession } from '../../runtime/ort';
import { DeviceCache } from '../../models/cache';
import type { RolloutImage, SimilarityScorer } from './rewards';

/** Bilinear resize of RGBA to S×S, normalised, NCHW (half-pixel centres, as PIL/HF processors do). */
export function clipPixels(
  img: RolloutImage,
  size: number,
  mean: readonly number[],
  std: readonly number[],
): Float32Array {
  const out = new Float32Array(3 * size * size);
  const sx = img.width / size;
  const sy = img.height / size;
  for (let y = 0; y < size; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => img.rgba[(yy * img.width + xx) * 4 + c]!;
        const v = (1 - wy) * ((1 - wx) * p(y0, x0) + wx * p(y0, x1)) + wy * ((1 - wx) * p(y1, x0) + wx * p(y1, x1));
        out[c * size * size + y * size + x] = (v / 255 - mean[c]!) / std[c]!;
      }
    }
  }
  return out;
}

class OnnxSimilarity implements SimilarityScorer {
  /** Frees the ORT session (its GPU buffers live on the device it was created on). */
  dispose(): Promise<void> {
    return this.session.release();
  }

  constructor(
    private readonly session: OrtSession,
    private readonly tokenizer: Tokenizer,
    private readonly cfg: NonNullable<NonNullable<Manifest['rewards']>['similarity']>,
  ) {}

  async similarity(image: RolloutImage, text: string): Promise<number> {
    const ids = this.tokenizer.encode(text, { add_special_tokens: true }).ids.slice(0, this.cfg.max_length);
    const L = ids.length;
    const feeds = {
      input_ids: cpuTensor(
        'int64',
        BigInt64Array.from(ids, (i) => BigInt(i)),
        [1, L],
      ),
      attention_mask: cpuTensor('int64', new BigInt64Array(L).fill(1n), [1, L]),
      pixel_values: cpuTensor(
        'float32',
        clipPixels(image, this.cfg.image_size, this.cfg.image_mean, this.cfg.image_std),
        [1, 3, this.cfg.image_size, this.cfg.image_size],
      ),
    };
    const out = await run(this.session, feeds, ['logits_per_image']);
    const s = out.logits_per_image?.data as Float32Array | undefined;
    if (!s || s.length < 1) throw new RgError('RUNTIME', 'the similarity model returned no logits_per_image');
    return s[0]!;
  }
}

// One scorer per pack, model and backend on the current device (a fresh device after a loss gets a fresh session).
const cache = new DeviceCache<OnnxSimilarity>();

/** The pack's similarity scorer, or null when its manifest declares none (the reward is then off). */
export async function loadSimilarityScorer(
  source: PackSource,
  m: Manifest,
  choice: BackendChoice,
): Promise<SimilarityScorer | null> {
  const cfg = m.rewards?.similarity;
  if (!cfg) return null;
  const key = [source.id, cfg.model, choice.backend].join('\u0000');
  return cache.get(key, { device: choice.device ?? null }, async () => {
    const [model, tokJson] = await Promise.all([source.file(cfg.model), source.file(cfg.tokenizer)]);
    const tokenizer = new Tokenizer(JSON.parse(new TextDecoder().decode(tokJson)) as object, {});
    // CPU tensors in and out: a few hundred KB per rollout; the GPU is busy with the painter anyway.
    const session = await createSession(model, {
      backend: choice.backend,
      device: choice.device,
      label: `${source.id}/${cfg.model}`,
    });
    return new OnnxSimilarity(session, tokenizer, cfg);
  });
}
