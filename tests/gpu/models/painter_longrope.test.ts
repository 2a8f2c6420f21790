// The painter with Phi-3's LongRoPE against the PyTorch mirror (tests/fixtures/longrope/reference.json, written by
// tools/make_longrope_fixture.py): the tiny-random pack's weights, seeded random short / long factors, and
// original_max_position_embeddings 8, so tiny runs fall on both sides of it. Cases: both parts short (exactly 8
// positions), both long, and batched CFG whose branches choose differently (MindOmni runs them separately).
// Bound: 1e-4 on the velocity (the plain painter's fixture tolerance; measured figures are logged). The same weights
// with plain RoPE are checked to miss the reference by far more, so the factors and the scale are really exercised.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { PainterEngine } from '../../../src/models/painter/dit';
import { loadPainterWeights } from '../../../src/models/painter/weights';
import { ConnectorConfigSchema, PainterConfigSchema } from '../../../src/packs/manifest';
import reference from '../../fixtures/longrope/reference.json';
import { engineVelocity, maxAbsDiff, tinyRandom } from './painter_fixtures';

const BOUND = 1e-4;

function velocity(engine: PainterEngine, conds: number[][], guidance: number): Promise<Float32Array> {
  const [, h, w] = reference.latents_shape as [number, number, number];
  const latents = new Float32Array(reference.latents);
  return engineVelocity(
    engine,
    conds.map((c) => new Float32Array(c)),
    latents,
    { h, w, t: reference.timestep, guidance },
  );
}

describe('painter with LongRoPE against the PyTorch mirror', async () => {
  const device = await acquireDevice();
  const pack = tinyRandom();
  const m = await pack.manifest();
  const cc = ConnectorConfigSchema.parse({ ...m.connector, ...reference.rope.connector });
  const pc = PainterConfigSchema.parse({ ...m.painter, ...reference.rope.painter });
  const weights = await loadPainterWeights(device, pack, 'f32');
  const longrope = new PainterEngine(device, weights, cc, pc);
  const plain = new PainterEngine(device, weights, m.connector, m.painter);
  afterAll(() => {
    longrope.dispose();
    expect(liveBufferCount(device)).toBe(0);
  });

  for (const c of reference.cases) {
    it(`${c.name}: velocity within ${BOUND} of the mirror's; plain RoPE misses it`, async () => {
      const g = ('guidance' in c ? c.guidance : undefined) ?? 1;
      const d = maxAbsDiff(await velocity(longrope, c.conditions, g), c.velocity);
      const off = maxAbsDiff(await velocity(plain, c.conditions, g), c.velocity);
      const scale = Math.max(...c.velocity.map(Math.abs));
      console.log(
        `painter longrope ${c.name}: max |Δv| ${d.toExponential(2)}; plain RoPE ${off.toExponential(2)} ` +
          `(max |v| ${scale.toFixed(2)})`,
      );
      expect(d).toBeLessThan(BOUND);
      expect(off).toBeGreaterThan(100 * BOUND);
    });
  }
});
