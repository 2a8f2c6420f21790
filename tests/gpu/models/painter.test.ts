/**
 * The painter forward on our kernels against the PyTorch fixtures of the tiny-random pack: one velocity (f32 within
 * 1e-4; int8 and int4 weights against their own PyTorch velocities and against f32), the CPU tables against the
 * fixture intermediates, each MindOmni / OmniGen mechanic (raw t, two time embedders, no connector norm) against its
 * old choice, and CFG batching equal to two batch-1 runs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice } from '../../../src/gpu/device';
import { uploadBuffer } from '../../../src/gpu/readback';
import { PainterEngine } from '../../../src/models/painter/dit';
import { loadPainterWeights, type PainterWeights } from '../../../src/models/painter/weights';
import { posEmbed2d, timestepFeatures } from '../../../src/models/painter/tables';
import type { WeightVariant } from '../../../src/packs/manifest';
import { Painter } from '../../../src/models/painter';
import { engineVelocity, fixtureF32, fx, maxAbsDiff, tinyRandom } from './painter_fixtures';

/** The weights with the two time embedders exchanged. */
function swapped(w: PainterWeights): PainterWeights {
  return { ...w, painter: { ...w.painter, timeToken: w.painter.tEmbedder, tEmbedder: w.painter.timeToken } };
}

/** The weights with `t_embedder` used for the time token too (the old shared embedder). */
function shared(w: PainterWeights): PainterWeights {
  return { ...w, painter: { ...w.painter, timeToken: w.painter.tEmbedder } };
}

/** One velocity with `conditions` (B = 1 or 2) on the fixtures' 16 × 16 latents: branch 0's v or the CFG mix. */
const velocity = (e: PainterEngine, conds: Float32Array[], latents: Float32Array, t: number, guidance = 1) =>
  engineVelocity(e, conds, latents, { h: 16, w: 16, t, guidance });

describe('painter forward', async () => {
  const device = await acquireDevice();
  const pack = tinyRandom();
  const m = await pack.manifest();
  const engines = new Map<WeightVariant, PainterEngine>();
  const engine = async (v: WeightVariant) => {
    let e = engines.get(v);
    if (!e)
      engines.set(
        v,
        (e = new PainterEngine(device, await loadPainterWeights(device, pack, v), m.connector, m.painter)),
      );
    return e;
  };
  afterAll(() => engines.forEach((e) => e.dispose()));
  const P = fx.painter;
  const cond = await fixtureF32(P.condition.file);
  const latents = await fixtureF32(P.latents.file);

  it('timestep features and the 2D position table equal the PyTorch intermediates', async () => {
    const tf = timestepFeatures([P.timestep], m.painter);
    // Arguments reach 300 rad, where one f32 ulp of the argument is 3e-5 (PyTorch's f32 exp/mul vs our rounding).
    expect(maxAbsDiff(tf, await fixtureF32(P.intermediates.timestep_freq.file))).toBeLessThan(3e-5);
    const pos = posEmbed2d(8, 8, m.painter);
    expect(maxAbsDiff(pos, await fixtureF32(P.intermediates.pos_embed_8x8.file))).toBeLessThan(1e-6);
  });

  it('f32: one forward equals the PyTorch velocity within 1e-4', async () => {
    const v = await velocity(await engine('f32'), [cond], latents, P.timestep);
    const want = await fixtureF32(P.velocity.f32.file);
    const d = maxAbsDiff(v, want);
    console.log(`painter f32 velocity: max |Δ| = ${d.toExponential(2)}`);
    expect(d).toBeLessThan(P.tolerance);
  });

  for (const variant of ['int8', 'int4'] as const) {
    it(`${variant}: equals the PyTorch ${variant} velocity within 1e-4 and f32 within the stated bound`, async () => {
      const v = await velocity(await engine(variant), [cond], latents, P.timestep);
      const mine = maxAbsDiff(v, await fixtureF32(P.velocity[variant].file));
      const vsF32 = maxAbsDiff(v, await fixtureF32(P.velocity.f32.file));
      console.log(
        `painter ${variant}: max |Δ| vs PyTorch ${variant} = ${mine.toExponential(2)}, vs f32 = ${vsF32.toFixed(4)}`,
      );
      expect(mine).toBeLessThan(P.tolerance);
      // Stated bound: int8 within 0.05 of f32, int4 within 0.7 (PyTorch: 0.033 and 0.568, see fixtures.json).
      expect(vsF32).toBeLessThan(variant === 'int8' ? 0.05 : 0.7);
    });
  }

  it("OmniGen's time conditioning and MindOmni's connector: raw t, two embedders, no connector norm", async () => {
    // The fixture velocity is MindOmni's / OmniGen's: each old choice, put back, moves it far past the tolerance.
    expect(m.painter.time_embedders).toBe('separate');
    expect(m.painter.timestep_scale).toBe(1);
    expect(m.connector?.final_norm).toBe(false);
    const want = await fixtureF32(P.velocity.f32.file);
    const w = await loadPainterWeights(device, pack, 'f32');
    const ones = uploadBuffer(device, new Float32Array(m.painter.hidden_size).fill(1), 'test connector norm');
    const variants: [string, PainterEngine][] = [
      ['time_token and t_embedder swapped', new PainterEngine(device, swapped(w), m.connector, m.painter)],
      ['one embedder for both', new PainterEngine(device, shared(w), m.connector, m.painter)],
      ['t scaled by 1000', new PainterEngine(device, w, m.connector, { ...m.painter, timestep_scale: 1000 })],
      [
        'a connector norm',
        new PainterEngine(device, { ...w, connector: { ...w.connector!, norm: ones } }, m.connector, m.painter),
      ],
    ];
    try {
      for (const [what, e] of variants) {
        const d = maxAbsDiff(await velocity(e, [cond], latents, P.timestep), want);
        console.log(`painter with ${what}: max |Δ| vs the fixture = ${d.toFixed(4)}`);
        expect(d, what).toBeGreaterThan(100 * P.tolerance);
      }
    } finally {
      w.dispose();
      ones.destroy();
    }
  });

  it('both CFG branches in one batch equal two batch-1 runs (different condition lengths)', async () => {
    const e = await engine('f32');
    const neg = await fixtureF32(fx.negative.condition.file);
    const g = 3;
    const both = await velocity(e, [cond, neg], latents, P.timestep, g);
    const vc = await velocity(e, [cond], latents, P.timestep);
    const vu = await velocity(e, [neg], latents, P.timestep);
    const f = Math.fround;
    const want = vc.map((c, i) => f(vu[i]! + f(f(g) * f(c - vu[i]!))));
    const d = maxAbsDiff(both, want);
    console.log(`CFG batch vs two batch-1 runs: max |Δ| = ${d.toExponential(2)}`);
    // The denoise kernel's combine may round differently from the f32 steps above (e.g. a fused multiply-add).
    expect(d).toBeLessThan(1e-5);
    // Guidance 0 gives exactly the unconditional branch of the batch: bit-equal to its batch-1 run.
    const g0 = await velocity(e, [cond, neg], latents, P.timestep, 0);
    expect(maxAbsDiff(g0, vu)).toBe(0);
  });

  it('int8 and int4 weights: the whole Imagine image stays within a stated distance of the f32 one', async () => {
    const pos = await fixtureF32(fx.imagine.condition.file);
    const neg = await fixtureF32(fx.negative.condition.file);
    const I = fx.imagine;
    const opts = {
      positive: { rows: pos.length / 64, hidden: 64, cpu: pos },
      negative: { rows: neg.length / 64, hidden: 64, cpu: neg },
      width: I.width,
      height: I.height,
      steps: I.steps,
      guidance: I.guidance,
      seed: I.seed,
    };
    const f32img = await fixtureF32(I.image.file);
    const px = (x: number) => Math.floor(Math.min(1, Math.max(0, x * 0.5 + 0.5)) * 255 + 0.5);
    // Stated bounds (max over pixels, 1/255 units) after 4 steps at guidance 3 on tiny-random; measured 3/255
    // (int8) and 56/255 (int4): random weights are hard on block-32 int4 (PyTorch's own int4 velocity is 0.57 off).
    const bound = { int8: 10, int4: 100 } as const;
    for (const variant of ['int8', 'int4'] as const) {
      const p = await Painter.load(pack, { backend: 'webgpu', device }, { kind: 'ours', weights: variant });
      try {
        const r = await p.paint(opts);
        let d = 0;
        for (let i = 0; i < f32img.length; i++) d = Math.max(d, Math.abs(px(r.image[i]!) - px(f32img[i]!)));
        console.log(
          `Imagine image, ${variant} vs f32 (PyTorch): max pixel Δ = ${d}/255, ` +
            `max |Δ| = ${maxAbsDiff(r.image, f32img).toFixed(4)}`,
        );
        expect(d).toBeLessThanOrEqual(bound[variant]);
      } finally {
        await p.dispose();
      }
    }
  });
});
