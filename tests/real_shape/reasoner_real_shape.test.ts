// The reasoner at the full shape of Qwen2.5-0.5B (24 layers, issue #18): on the seeded random int4 pack, the
// engine's greedy tokens for 8 tokens after a 32-token prompt equal the CPU twin's. Minutes on SwiftShader and
// about 0.6 GB of memory (the int4 weights in the page and on the device), so it is not part of `npm test`:
// `npm run test:real-shape` (vitest.real_shape.config.ts). The 2-layer version runs in `npm test`
// (tests/real_shape/reasoner_real_shape_fast.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { acquireDevice } from '../../src/gpu/device';
import type { ReferenceRun } from '../../src/models/reasoner/reference';
import {
  engineOn,
  maxAbs,
  NEW_TOKENS,
  realShapeSetup,
  relMax,
  twinOn,
  type RealShapeSetup,
} from '../helpers/real_shape';

describe('qwen2.5-0.5b-shape, int4: the engine’s greedy tokens equal the CPU twin’s', () => {
  let device: GPUDevice;
  let s: RealShapeSetup;
  let twin: ReferenceRun;
  let twinSeconds: number;
  beforeAll(async () => {
    device = await acquireDevice();
    s = realShapeSetup('qwen2.5-0.5b-shape');
    console.log(`weights made in ${s.makeSeconds.toFixed(1)} s`);
    const t0 = performance.now();
    twin = twinOn(s, s.int4);
    twinSeconds = (performance.now() - t0) / 1000;
  });

  it(`after a 32-token prompt, ${NEW_TOKENS} tokens`, async () => {
    const t0 = performance.now();
    const e = await engineOn(device, s, s.int4);
    // The prompt's logits and the last decode step's (the decode path, its cache reads at the last position).
    const err = Math.max(relMax(e.prefillLogits!, twin.prefillLogits), relMax(e.lastLogits!, twin.lastLogits));
    const minMargin = Math.min(...twin.picks.map((p) => p.top1 - p.top2));
    const spread = maxAbs(twin.prefillLogits);
    console.log(
      `twin ${twinSeconds.toFixed(1)} s; engine (${e.precision} tiles, upload + run ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s): ${e.ids.join(',')}; rel. Δlogit (prefill, last) ` +
        `${err.toExponential(2)} (max |logit| ${spread.toFixed(2)}), min margin ${minMargin.toFixed(3)}`,
    );
    expect(e.ids).toEqual(twin.ids);
    expect(err).toBeLessThan(e.precision === 'f32' ? 1e-4 : 1e-2);
    expect(minMargin).toBeGreaterThan(20 * err * spread);
  });
});
