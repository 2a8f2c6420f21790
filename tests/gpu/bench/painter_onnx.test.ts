// One painter step of OmniGen's layer form at small width (head_dim 96, 2 heads, 2 layers, 30 condition rows,
// 64 image tokens): our engine (with and without the condition-K/V cache) against the ONNX of the same network built
// in code (src/bench/painter_onnx.ts) on onnxruntime-web's WebGPU EP, the same seeded weights (int4 and f32) and
// inputs; the same code path the `omnigen-step-*` benchmarks run at hidden 3072 (npm run bench -- --filter
// omnigen-step-1l).
import { beforeAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { RgError } from '../../../src/errors';
import { PainterStepRig, relMax } from '../../../src/bench/painter_real';
import { buildPainterStepOnnx } from '../../../src/bench/painter_onnx';
import { omnigenTinyShape, painterTensorShapes, randomPainterWeights } from '../../../src/models/painter/random_pack';
import type { RealShapeFormat } from '../../../src/models/reasoner/random_pack';
import { quantizeInt4 } from '../../../src/kernels/quantize';

const SHAPE = { Lc: 30, h: 16, w: 16 };
// Both sides multiply the same weights in f32 and differ in the order of sums, the softmax and RoPE's sin/cos:
// measured below 1e-6 of the largest velocity (logged). 1e-4 leaves room and still fails on a wrong mask, RoPE
// position, nibble order or patch order, each of which moves the output by whole percents.
const BOUND = 1e-4;

let device: GPUDevice;
beforeAll(async () => {
  device = await acquireDevice();
});

describe('one painter step: ours vs onnxruntime-web on the ONNX built in code', () => {
  // 40 kB of scores splits the graph's attention into one group per head (the path the real shape takes). Each case
  // costs 35–110 s on SwiftShader, mostly onnxruntime-web's shader compiles, so this file runs only in
  // `npm run test:painter-onnx` (vitest.config.ts leaves it out of `npm test`).
  const CASES: [RealShapeFormat, string, number | undefined][] = [
    ['int4', 'heads in groups', 40_000],
    ['f32', 'heads at once', undefined],
  ];
  it.each(CASES)('%s weights, %s: the velocities agree', { timeout: 300_000 }, async (format, _, maxScoreBytes) => {
    const before = liveBufferCount(device);
    const pc = omnigenTinyShape(2);
    const rig = await PainterStepRig.create(device, pc, { ...SHAPE, seed: 3, t: 0.3, format, maxScoreBytes });
    try {
      const theirs = await rig.theirs();
      const cached = await rig.ours(true);
      const plain = await rig.ours(false);
      const e1 = relMax(cached, theirs);
      const e2 = relMax(plain, theirs);
      console.log(
        `painter step ${format}, ${maxScoreBytes ?? 'default'} score bytes: ` +
          `cache ${e1.toExponential(2)}, no cache ${e2.toExponential(2)}`,
      );
      expect(theirs.length).toBe(pc.latent_channels * SHAPE.h * SHAPE.w);
      expect(Math.max(...theirs.map(Math.abs))).toBeGreaterThan(0.1);
      expect(e1).toBeLessThan(BOUND);
      expect(e2).toBeLessThan(BOUND);
    } finally {
      await rig.dispose();
    }
    expect(liveBufferCount(device)).toBe(before);
  });
});

describe('the random painter and its graph', () => {
  it('makes the same values for the same seed, others for another, int4 and f32 alike', () => {
    const pc = omnigenTinyShape(1);
    const name = 'painter.layers.0.self_attn.qkv_proj.weight';
    const a = randomPainterWeights(pc, 5, 'int4')(name);
    const b = randomPainterWeights(pc, 5, 'int4')(name);
    const c = randomPainterWeights(pc, 6, 'int4')(name);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const f = randomPainterWeights(pc, 5, 'f32')(name);
    expect(f).toMatchObject({ format: 'f32', out: 6 * 96, in: 192 });
    // Every tensor of the config is made at its shape.
    for (const [n, shape] of painterTensorShapes(pc)) {
      const t = randomPainterWeights(pc, 5)(n);
      if (t instanceof Float32Array) expect(t.length, n).toBe(shape[0]);
      else expect([t.out, t.in], n).toEqual(shape);
    }
  });

  it('refuses an int4 matrix outside the layer projections, naming it', () => {
    const pc = omnigenTinyShape(1);
    const good = randomPainterWeights(pc, 5, 'int4');
    // The final linear stored as int4 at its own shape: only the four layer projections may be.
    const finalName = 'painter.final_layer.linear.weight';
    const bad = (n: string) => {
      const t = good(n);
      if (n !== finalName || t instanceof Float32Array || t.format !== 'f32') return t;
      const { q, scale } = quantizeInt4(t.weight, t.out, t.in);
      return { format: 'int4' as const, out: t.out, in: t.in, weightQ4: q, weightScale: scale };
    };
    let err: unknown;
    try {
      buildPainterStepOnnx(pc, bad, SHAPE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RgError);
    expect((err as RgError).message).toContain(`${finalName} is int4`);
    expect((err as RgError).field).toBe(finalName);
    expect(() => buildPainterStepOnnx({ ...pc, num_key_value_heads: 1 }, good, SHAPE)).toThrow(/kv heads/);
    expect(() => buildPainterStepOnnx(pc, good, { ...SHAPE, h: 15 })).toThrow(/multiple of the patch/);
  });
});
