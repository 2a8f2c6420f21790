/** @file Shared by the painter and pipeline tests: the tiny-random pack and its PyTorch painter fixtures. */
import fx from '../../fixtures/tiny-random/fixtures.json';
import { FetchPackSource } from '../../../src/packs/source';
import { GpuBatch } from '../../../src/gpu/batch';
import { emptyBuffer, readF32, uploadBuffer } from '../../../src/gpu/readback';
import type { PainterEngine } from '../../../src/models/painter/dit';
import { releasePainters, vaeInputFromPixels, type PaintOptions, type PaintResult } from '../../../src/models/painter';
import { releaseReasoners } from '../../../src/models/reasoner';
import type { ImagineRequest } from '../../../src/pipeline/imagine';
import { releaseNegativeConditions } from '../../../src/pipeline/paint';
import { decodePngRgba } from '../../../src/pipeline/png';
import { expect } from 'vitest';

export { fx };

const FILES = import.meta.glob('../../fixtures/tiny-random/*.{bin,png}', {
  query: '?url',
  import: 'default',
  eager: true,
}) as Record<string, string>;

/** The bytes of a fixture file (by its name in tests/fixtures/tiny-random/). */
export async function fixtureBytes(name: string): Promise<Uint8Array> {
  const url = FILES[`../../fixtures/tiny-random/${name}`];
  if (!url) throw new Error(`no fixture ${name}`);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${name}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function fixtureF32(name: string): Promise<Float32Array> {
  const b = await fixtureBytes(name);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

let pack: FetchPackSource | null = null;
/** The shipped tiny-random pack, verified against its manifest (one instance, so files are fetched once). */
export function tinyRandom(): FetchPackSource {
  pack ??= new FetchPackSource('tiny-random', new URL('/models/tiny-random/', location.href).href);
  return pack;
}

/** max |a − b| */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}

/**
 * One velocity of `engine` at timestep `t` on `latents` [C, h, w] with `conditions` (B = 1 or 2 rows of the
 * connector's input width): branch 0's v (B = 1) or the CFG combination with `guidance`. The step adds dt · v to a
 * zeroed buffer with dt = 1, so what it holds is v.
 */
export async function engineVelocity(
  engine: PainterEngine,
  conditions: Float32Array[],
  latents: Float32Array,
  shape: { h: number; w: number; t: number; guidance?: number },
): Promise<Float32Array> {
  const device = engine.device;
  const H = engine.conditionWidth;
  const s = engine.session({
    conditions: conditions.map((c) => ({ rows: c.length / H, hidden: H, cpu: c })),
    h: shape.h,
    w: shape.w,
    timesteps: [shape.t],
  });
  const zIn = uploadBuffer(device, latents, 'test latents');
  const zOut = emptyBuffer(device, latents.byteLength, 'test v');
  try {
    const batch = new GpuBatch(device, 'painter velocity');
    s.encodePrepare(batch);
    s.encodePrefix(batch);
    s.encodeStep(batch, 0, zIn, zOut, shape.guidance ?? 1, 1);
    batch.submit();
    return await readF32(device, zOut);
  } finally {
    s.dispose();
    zIn.destroy();
    zOut.destroy();
  }
}

/** The Imagine or Edit fixture's positive and the negative condition (hidden 64) as CPU rows. */
export async function paintConditions(which: 'imagine' | 'edit') {
  const pos = await fixtureF32(fx[which].condition.file);
  const neg = await fixtureF32(fx.negative.condition.file);
  return {
    positive: { rows: pos.length / 64, hidden: 64, cpu: pos },
    negative: { rows: neg.length / 64, hidden: 64, cpu: neg },
  };
}

/** The Imagine or Edit fixture's run as paint options: its conditions and settings (and Edit's input image). */
export async function fixturePaintOptions(which: 'imagine' | 'edit'): Promise<PaintOptions> {
  const F = fx[which];
  const opts: PaintOptions = {
    ...(await paintConditions(which)),
    width: F.width,
    height: F.height,
    steps: F.steps,
    guidance: F.guidance,
    seed: F.seed,
  };
  if (which === 'edit') {
    const png = decodePngRgba(await fixtureBytes(fx.edit.input_png));
    opts.edit = { image: vaeInputFromPixels(png.rgba, png.height, png.width, 4), strength: fx.edit.strength };
  }
  return opts;
}

/** max over pixels of |ours − fixture| in 1/255 units, from the raw VAE outputs mapped like to_pixels. */
export function maxPixelDiff(img: Float32Array, want: Float32Array): number {
  const px = (x: number) => Math.floor(Math.min(1, Math.max(0, x * 0.5 + 0.5)) * 255 + 0.5);
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(px(img[i]!) - px(want[i]!)));
  return m;
}

/** Every latent within `latTol` of the fixture's and the image within 2/255. */
export async function expectMatchesFixture(r: PaintResult, which: 'imagine' | 'edit', latTol: number) {
  const F = fx[which];
  const zs = await fixtureF32(F.latents.file);
  const n = zs.length / (F.steps + 1);
  r.latents!.forEach((z, i) => {
    const d = maxAbsDiff(z, zs.subarray(i * n, (i + 1) * n));
    console.log(`${which} [${r.engine}] z_${i}: max |Δ| = ${d.toExponential(2)}`);
    expect(d).toBeLessThan(latTol);
  });
  const img = await fixtureF32(F.image.file);
  const dImg = maxAbsDiff(r.image, img);
  const dPx = maxPixelDiff(r.image, img);
  console.log(`${which} [${r.engine}] image: max |Δ| = ${dImg.toExponential(2)}, max pixel Δ = ${dPx}/255`);
  expect(dPx).toBeLessThanOrEqual(2);
}

/**
 * A short Imagine request on the fixture's prompt, size, guidance and seed (CoT on, 8 tokens, 1 step): the pipeline
 * tests that compare two runs of the same request (cascade, refusal, no vision tower).
 */
export function quickImagineRequest(runId: string, patch: Partial<ImagineRequest> = {}): ImagineRequest {
  const I = fx.imagine;
  return {
    runId,
    pack: 'tiny-random',
    prompt: I.prompt,
    cot: true,
    maxNewTokens: 8,
    width: I.width,
    height: I.height,
    steps: 1,
    guidance: I.guidance,
    seed: I.seed,
    ...patch,
  };
}

/** Releases every model the pipelines keep (negative conditions, painters, reasoners): a test file's afterAll. */
export async function releasePipelineModels(): Promise<void> {
  await releaseNegativeConditions();
  await releasePainters();
  await releaseReasoners();
}
