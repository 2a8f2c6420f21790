// matmul against its CPU twin for every weight format, all three kernels, bias and each fused activation; the
// quantisation error of int8 / int4 against the f32 product; the shipped tiny-random int4 weights; bad arguments.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { mulberry32, randomF32 } from '../../helpers/rng';
import {
  decodeMatmulVariant,
  isFallbackDevice,
  matmul,
  matmulCode,
  matmulTile,
  type MatmulTileChoice,
  matmulVariant,
  type LinearWeight,
  type MatmulActivation,
  type MatmulArgs,
  type MatmulVariant,
  type WeightFormat,
} from '../../../src/kernels/matmul';
import { matmulRef, type LinearWeightData } from '../../../src/kernels/matmul.ref';
import { quantizeInt4, quantizeInt8, toBf16, toF16 } from '../../../src/kernels/quantize';
import { precisionFor } from '../../../src/kernels/dispatch';
import { parseSafetensors, tensorData } from '../../../src/packs/safetensors';
import { GpuBatch } from '../../../src/gpu/batch';
import { cachedPipelineCount } from '../../../src/gpu/pipeline_cache';
import { KernelArgError } from '../../../src/errors';
import { regsBlock, REGS_LARGE_MACS } from '../../../src/kernels/matmul_regs';
import { toWeightData } from '../../../src/kernels/weight_data';
import { uploadWeight } from '../../../src/models/layers/weights';
import { sample } from '../../../src/kernels/sample';
import { readU32 } from '../../helpers/gpu';

/** Standard normal samples (Box-Muller on mulberry32), rounded to f32. */
function gaussianF32(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

/** The CPU and GPU forms of `w` [N, K] stored as `format`. */
function makeWeight(
  bufs: Buffers,
  format: WeightFormat,
  w: Float32Array,
  N: number,
  K: number,
): { gpu: LinearWeight; cpu: LinearWeightData } {
  const shape = { out: N, in: K };
  switch (format) {
    case 'f32':
      return { gpu: { format, ...shape, weight: bufs.upload(w) }, cpu: { format, ...shape, weight: w } };
    case 'f16': {
      const h = toF16(w);
      return { gpu: { format, ...shape, weight: bufs.upload(h) }, cpu: { format, ...shape, weight: h } };
    }
    case 'bf16': {
      const h = toBf16(w);
      return { gpu: { format, ...shape, weight: bufs.upload(h) }, cpu: { format, ...shape, weight: h } };
    }
    case 'int8': {
      const { q, scale } = quantizeInt8(w, N, K);
      return {
        gpu: { format, ...shape, weightQ: bufs.upload(q), weightScale: bufs.upload(scale) },
        cpu: { format, ...shape, weightQ: q, weightScale: scale },
      };
    }
    case 'int4': {
      const { q, scale } = quantizeInt4(w, N, K);
      return {
        gpu: { format, ...shape, weightQ4: bufs.upload(q), weightScale: bufs.upload(scale) },
        cpu: { format, ...shape, weightQ4: q, weightScale: scale },
      };
    }
  }
}

interface Case {
  format: WeightFormat;
  M: number;
  K: number;
  N: number;
  bias: boolean;
  activation: MatmulActivation;
  variant?: MatmulVariant;
  gemvLanes?: number;
  tile?: MatmulTileChoice;
}

const FORMATS: WeightFormat[] = ['f32', 'f16', 'int8', 'int4', 'bf16'];
const ACTS: MatmulActivation[] = ['none', 'gelu', 'gelu_tanh', 'silu'];

/** Every format × M ∈ {1, 3, 67} × K ∈ {64, 96, 160}, N = 75 (not a multiple of either kernel's column block). */
const GRID: Case[] = FORMATS.flatMap((format) =>
  [1, 3, 67].flatMap((M) => [64, 96, 160].map((K) => ({ format, M, K, N: 75 }))),
).map((c, i) => ({ ...c, activation: ACTS[i % 4]!, bias: i % 3 !== 1 }));

/**
 * Each kernel where another is the default (on a fallback adapter the grid's 67-row cases run `regs`, on a GPU the
 * tiled kernel: both are forced here), odd N (a single column; three column tiles), M past one GEMV pass, rows and
 * columns that are not multiples of the regs kernel's 4 × 8 block.
 */
const FORCED: Case[] = FORMATS.flatMap((format): Case[] => [
  { format, M: 1, K: 96, N: 75, bias: true, activation: 'gelu', variant: 'tiled' },
  { format, M: 67, K: 160, N: 75, bias: true, activation: 'gelu', variant: 'tiled' },
  { format, M: 67, K: 96, N: 75, bias: true, activation: 'gelu_tanh', variant: 'regs' },
  { format, M: 1, K: 64, N: 75, bias: false, activation: 'silu', variant: 'regs' },
  { format, M: 5, K: 32, N: 1, bias: true, activation: 'none', variant: 'regs' },
  { format, M: 1, K: 288, N: 9, bias: true, activation: 'gelu', variant: undefined },
  { format, M: 67, K: 64, N: 75, bias: true, activation: 'silu', variant: 'gemv' },
  { format, M: 5, K: 160, N: 130, bias: false, activation: 'gelu_tanh', variant: 'gemv' },
  { format, M: 5, K: 96, N: 1, bias: true, activation: 'none', variant: 'tiled' },
  { format, M: 1, K: 96, N: 75, bias: true, activation: 'silu', variant: 'dot' },
  { format, M: 6, K: 160, N: 130, bias: false, activation: 'gelu', variant: 'dot' },
  { format, M: 3, K: 64, N: 1, bias: true, activation: 'gelu_tanh', variant: 'dot' },
]);

/**
 * Decode rows with K past DOT_MAX_K, the 0.5B shape's 896 and 4,864: dot serves them on a fallback adapter, GEMV on
 * a GPU (decodeMatmulVariant); both kernels at both K. Few columns: cheap.
 */
const LONG_K: Case[] = FORMATS.flatMap((format): Case[] => [
  { format, M: 1, K: 896, N: 37, bias: true, activation: 'silu', variant: 'dot' },
  { format, M: 4, K: 4864, N: 9, bias: false, activation: 'none', variant: 'dot' },
  { format, M: 1, K: 896, N: 37, bias: true, activation: 'gelu', variant: 'gemv' },
  { format, M: 3, K: 4864, N: 9, bias: true, activation: 'none', variant: 'gemv' },
]);
/** GEMV with 4 lanes per column (the bench's variant): one format, since lanes change the reduction, not the decode. */
const FEW_LANES: Case[] = [
  { format: 'int4', M: 2, K: 896, N: 67, bias: false, activation: 'silu', variant: 'gemv', gemvLanes: 4 },
];
/**
 * The regs kernel's large block (4 × 8; the grid's products are under REGS_LARGE_MACS and take 4 × 4): forced on two
 * formats (the block changes the unrolling, not the decoding), and chosen by the rule for a product above the bound.
 */
const REGS_LARGE: Case[] = [
  { format: 'int4', M: 67, K: 96, N: 75, bias: true, activation: 'gelu', variant: 'regs', tile: 'large' },
  { format: 'f16', M: 67, K: 96, N: 75, bias: false, activation: 'silu', variant: 'regs', tile: 'large' },
  { format: 'int4', M: 40, K: 1024, N: 1700, bias: true, activation: 'none', variant: 'regs' },
];

const name = (c: Case) =>
  `${c.format} M=${c.M} K=${c.K} N=${c.N} ${c.bias ? 'bias' : 'no bias'} ${c.activation} ` +
  `${c.variant ?? 'auto'}${c.gemvLanes ? ` ${c.gemvLanes} lanes` : ''}${c.tile ? ` ${c.tile}` : ''}`;

describe('matmul', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());
  // The tiled kernel stages tiles in f16 where the device has shader-f16 (not the software adapter of CI).
  const tiledRtol = precisionFor(device) === 'f16' ? 2e-3 : 1e-4;

  async function run(c: Case, x: Float32Array, w: LinearWeight, bias?: Float32Array): Promise<Float32Array> {
    const out = bufs.empty(c.M * c.N * 4);
    const args: MatmulArgs = {
      x: bufs.upload(x),
      weight: w,
      out,
      M: c.M,
      K: c.K,
      activation: c.activation,
      variant: c.variant,
      gemvLanes: c.gemvLanes,
      tile: c.tile,
    };
    if (bias) args.bias = bufs.upload(bias);
    runBatch(device, (b) => matmul(b, args));
    return readF32(device, out, c.M * c.N);
  }

  it.each([...GRID, ...FORCED, ...LONG_K, ...FEW_LANES, ...REGS_LARGE].map((c) => [name(c), c] as const))(
    'matches its twin: %s',
    async (_, c) => {
      const seed = c.M * 1000 + c.K * 7 + c.N;
      const x = randomF32(c.M * c.K, seed);
      const { gpu, cpu } = makeWeight(bufs, c.format, randomF32(c.N * c.K, seed + 1, -0.5, 0.5), c.N, c.K);
      const bias = c.bias ? randomF32(c.N, seed + 2) : undefined;
      const got = await run(c, x, gpu, bias);
      const rtol = (c.variant ?? decodeMatmulVariant(c.M, c.K, device)) === 'tiled' ? tiledRtol : 1e-4;
      expectClose(got, matmulRef({ x, weight: cpu, bias, M: c.M, K: c.K, activation: c.activation }), rtol);
    },
  );

  // A weight split into row shards (one dispatch per shard, each writing its columns of rows N wide) must give
  // exactly what the whole weight gives: same kernel, same summation order per column.
  it.each(FORMATS.flatMap((f) => (['tiled', 'gemv', 'dot'] as const).map((v) => [f, v] as const)))(
    'a %s weight in 3 row shards (%s) equals the whole weight and matches the twin',
    async (format, variant) => {
      const [M, K, N] = [variant === 'tiled' ? 67 : 3, 96, 75];
      const x = randomF32(M * K, 5);
      const data = toWeightData(randomF32(N * K, 6, -0.5, 0.5), N, K, format);
      const bias = randomF32(N, 7);
      const owned: GPUBuffer[] = [];
      try {
        const perRow = (K * { f32: 4, f16: 2, bf16: 2, int8: 1, int4: 0.5 }[format]) as number;
        const whole = uploadWeight(device, data, 'whole', 2 ** 31, owned).weight;
        const sharded = uploadWeight(device, data, 'sharded', 25 * perRow, owned).weight;
        expect('shards' in sharded && sharded.shards.map((s) => s.weight.out)).toEqual([25, 25, 25]);
        const c: Case = { format, M, K, N, bias: true, activation: 'silu', variant };
        const a = await run(c, x, whole as LinearWeight, bias);
        const b = await run(c, x, sharded as unknown as LinearWeight, bias);
        expect(Array.from(b)).toEqual(Array.from(a));
        const rtol = variant === 'tiled' ? tiledRtol : 1e-4;
        expectClose(b, matmulRef({ x, weight: data, bias, M, K, activation: 'silu' }), rtol);
      } finally {
        for (const b of owned) b.destroy();
      }
    },
  );

  it('an lm_head in row shards feeds the sample kernel: greedy id = argmax of the twin logits', async () => {
    const [V, K] = [1000, 64];
    const x = randomF32(K, 31);
    const data = toWeightData(randomF32(V * K, 32, -1, 1), V, K, 'int4');
    const owned: GPUBuffer[] = [];
    try {
      const { weight } = uploadWeight(device, data, 'lm_head', 128 * (K / 2), owned);
      expect('shards' in weight && weight.shards.length).toBe(8);
      const logits = bufs.empty(V * 4);
      const id = bufs.empty(4);
      runBatch(device, (b) => {
        matmul(b, { x: bufs.upload(x), weight, out: logits, M: 1, K, variant: decodeMatmulVariant(1, K, device) });
        sample(b, { logits, out: id, vocab: V, temperature: 0 });
      });
      const want = matmulRef({ x, weight: data, M: 1, K });
      expectClose(await readF32(device, logits, V), want, 1e-4);
      const top = want.indexOf(Math.max(...want));
      expect(top).toBeGreaterThan(128); // in a later shard than the first
      expect((await readU32(device, id, 1))[0]).toBe(top);
    } finally {
      for (const b of owned) b.destroy();
    }
  });

  it('picks GEMV up to 4 rows and the tiled kernel above', () => {
    expect([1, 2, 3, 4, 5, 67].map(matmulVariant)).toEqual(['gemv', 'gemv', 'gemv', 'gemv', 'tiled', 'tiled']);
  });

  it('picks dot or GEMV for decode rows, tiled above, on a GPU; on a fallback adapter regs (K of 32s)', () => {
    const gpu = { adapterInfo: { isFallbackAdapter: false } };
    const cpu = { adapterInfo: { isFallbackAdapter: true } };
    const pick = (d: object) =>
      [
        [1, 64],
        [4, 256],
        [4, 257],
        [1, 896],
        [1, 4864],
        [5, 64],
        [5, 896],
        [1025, 3072],
        [67, 48],
        [1, 48],
      ].map(([M, K]) => decodeMatmulVariant(M!, K!, d));
    expect(pick(gpu)).toEqual(['dot', 'dot', 'gemv', 'gemv', 'gemv', 'tiled', 'tiled', 'tiled', 'tiled', 'dot']);
    expect(pick(cpu)).toEqual(['dot', 'dot', 'dot', 'regs', 'regs', 'regs', 'regs', 'regs', 'tiled', 'dot']);
    // An adapter that does not say (no adapterInfo, or no isFallbackAdapter) is taken for a GPU.
    expect(pick({})).toEqual(pick(gpu));
    expect(pick({ adapterInfo: {} })).toEqual(pick(gpu));
  });

  it('gives the regs kernel 1 × 4 for decode rows, 4 × 4 below REGS_LARGE_MACS and 4 × 8 above', () => {
    expect(regsBlock(1, 151_936, 896)).toEqual({ RM: 1, RN: 4 });
    expect(regsBlock(4, 9, 4864)).toEqual({ RM: 1, RN: 4 });
    expect(regsBlock(130, 384, 384)).toEqual({ RM: 4, RN: 4 });
    expect(regsBlock(40, 1700, 1024)).toEqual({ RM: 4, RN: 8 });
    expect(regsBlock(1025, 3072, 3072)).toEqual({ RM: 4, RN: 8 });
    expect(40 * 1700 * 1024).toBeGreaterThanOrEqual(REGS_LARGE_MACS);
  });

  it("reads Chromium's SwiftShader adapter as a fallback adapter", () => {
    // What Chromium 156 reports here: vendor "google", architecture "swiftshader", isFallbackAdapter true. Should
    // that change, the software adapter would quietly go back to GEMV and the tiled kernel (several times slower).
    const info = device.adapterInfo;
    console.log(`adapter: ${info.vendor} ${info.architecture}, isFallbackAdapter ${String(info.isFallbackAdapter)}`);
    if (info.architecture === 'swiftshader') {
      expect(isFallbackDevice(device)).toBe(true);
      expect(decodeMatmulVariant(1, 896, device)).toBe('regs');
      expect(decodeMatmulVariant(1025, 3072, device)).toBe('regs');
    }
  });

  // Relative Frobenius error ‖Y_q − Y‖ / ‖Y‖ of the quantised product against the f32 product, Gaussian weights and
  // activations. Rounding to a step s leaves an error of about s / √12 per weight, uncorrelated, so the relative
  // output error is about √(E[s²] / 12) / σ_w with s = max|w| / qmax over the scale's group (row or block):
  //   int8, s = max|w_row| / 127, rms max of 160 normals ≈ 2.90σ → ≈ 0.66 %  — bound 1 %
  //   int4, s = max|w_block| / 7, rms max of 32 normals ≈ 2.35σ  → ≈ 9.7 %   — bound 12 %
  // (expectations from 200k simulated rows; measured here: 0.67 % and 9.9 %, see the log lines). The 16-bit
  // storage formats round each weight to a relative step of 2^-10 (f16) or 2^-7 (bf16), an error uniform within half
  // a step, rms step / √12 of |w|:
  //   f16  ≈ 2^-10 / √12 ≈ 0.028 % — bound 0.05 %;   bf16 ≈ 2^-7 / √12 ≈ 0.23 % — bound 0.4 %
  // All kernels are checked, since they sum in different orders.
  it.each([
    ['int8', 0.01],
    ['int4', 0.12],
    ['f16', 5e-4],
    ['bf16', 4e-3],
  ] as const)('%s error against the f32 product is below its bound', async (format, bound) => {
    const M = 16,
      K = 160,
      N = 96;
    const x = gaussianF32(M * K, 11);
    const w = gaussianF32(N * K, 12);
    const exact = matmulRef({ x, weight: { format: 'f32', out: N, in: K, weight: w }, M, K });
    const { gpu } = makeWeight(bufs, format, w, N, K);
    for (const variant of ['gemv', 'tiled', 'dot'] as const) {
      const got = await run({ format, M, K, N, bias: false, activation: 'none', variant }, x, gpu);
      let num = 0,
        den = 0;
      for (let i = 0; i < exact.length; i++) {
        num += (got[i]! - exact[i]!) ** 2;
        den += exact[i]! ** 2;
      }
      const err = Math.sqrt(num / den);
      console.log(
        `matmul ${format} (${variant}): relative Frobenius error ${(err * 100).toFixed(3)} % (bound ${bound * 100} %)`,
      );
      expect(err).toBeLessThan(bound);
      expect(err).toBeGreaterThan(bound / 10); // the weights really were quantised
    }
  });

  it('runs the shipped tiny-random int4 and int8 painter weights like their twin', async () => {
    const base = 'painter.layers.0.mlp.gate_up_proj';
    for (const mode of ['int8', 'int4'] as const) {
      const res = await fetch(`/models/tiny-random/painter.${mode}.safetensors`);
      expect(res.ok).toBe(true);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const st = parseSafetensors(bytes);
      const scale = tensorData(bytes, st, `${base}.weight_scale`, 'F32');
      const qName = mode === 'int8' ? `${base}.weight_q` : `${base}.weight_q4`;
      const [N, cols] = st.tensors.get(qName)!.shape as [number, number];
      const K = mode === 'int8' ? cols : cols * 2;
      let cpu: LinearWeightData, gpu: LinearWeight;
      if (mode === 'int8') {
        const q = tensorData(bytes, st, qName, 'I8');
        cpu = { format: mode, out: N, in: K, weightQ: q, weightScale: scale };
        gpu = { format: mode, out: N, in: K, weightQ: bufs.upload(q), weightScale: bufs.upload(scale) };
      } else {
        const q = tensorData(bytes, st, qName, 'U8');
        cpu = { format: mode, out: N, in: K, weightQ4: q, weightScale: scale };
        gpu = { format: mode, out: N, in: K, weightQ4: bufs.upload(q), weightScale: bufs.upload(scale) };
      }
      for (const M of [1, 9]) {
        const x = randomF32(M * K, 40 + M);
        const c: Case = { format: mode, M, K, N, bias: false, activation: 'silu' };
        expectClose(
          await run(c, x, gpu),
          matmulRef({ x, weight: cpu, M, K, activation: 'silu' }),
          M > 4 ? tiledRtol : 1e-4,
        );
      }
    }
  });

  it('a GPU takes 64×64 blocks on large products, 32×32 on small; a fallback adapter 32×32; both match', async () => {
    const gpuAdapter = { adapterInfo: { isFallbackAdapter: false } };
    expect(matmulTile(260, 260, gpuAdapter).TILE_M).toBe(64);
    expect(matmulTile(130, 192, gpuAdapter).TILE_M).toBe(32);
    expect(device.adapterInfo.isFallbackAdapter).toBe(true);
    expect(matmulTile(260, 260, device).TILE_M).toBe(32);
    expect(matmulTile(260, 260, device, 'large').TILE_M).toBe(64);
    expect(matmulTile(260, 260, gpuAdapter, 'small').TILE_M).toBe(32);
    // Both blocks run here, forced, in every format.
    for (const format of FORMATS)
      for (const tile of ['large', 'small'] as const) {
        const [M, K, N] = [257, 64, 259];
        const x = randomF32(M * K, 91);
        const { gpu, cpu } = makeWeight(bufs, format, randomF32(N * K, 92), N, K);
        const c: Case = { format, M, K, N, bias: true, activation: 'none', variant: 'tiled', tile };
        const bias = randomF32(N, 93);
        const want = matmulRef({ x, weight: cpu, bias, M, K, activation: 'none' });
        expectClose(await run(c, x, gpu, bias), want, tiledRtol);
      }
  });

  it('shares one pipeline between shapes, activations and bias or not, of one format', async () => {
    const before = cachedPipelineCount(device);
    for (const [M, K, N, activation, hasBias] of [
      [7, 32, 9, 'none', false],
      [70, 64, 65, 'silu', true],
      [9, 96, 3, 'gelu', false],
    ] as const) {
      const x = randomF32(M * K, M);
      const { gpu, cpu } = makeWeight(bufs, 'int4', randomF32(N * K, K), N, K);
      const bias = hasBias ? randomF32(N, 3) : undefined;
      const c: Case = { format: 'int4', M, K, N, bias: hasBias, activation, variant: 'tiled' };
      expectClose(await run(c, x, gpu, bias), matmulRef({ x, weight: cpu, bias, M, K, activation }), tiledRtol);
    }
    expect(cachedPipelineCount(device) - before).toBeLessThanOrEqual(1);
  });

  describe('bad arguments are refused before anything is encoded', () => {
    const w = (format: WeightFormat, N: number, K: number, bytes = N * K * 4): LinearWeight => {
      const b = bufs.empty(bytes);
      if (format === 'int8') return { format, out: N, in: K, weightQ: b, weightScale: bufs.empty(N * 4) };
      if (format === 'int4')
        return { format, out: N, in: K, weightQ4: b, weightScale: bufs.empty(N * 4 * Math.max(1, K / 32)) };
      return { format, out: N, in: K, weight: b };
    };
    const cases: [string, () => MatmulArgs, string][] = [
      [
        'K mismatch',
        () => ({ x: bufs.empty(3 * 64 * 4), weight: w('f32', 75, 96), out: bufs.empty(3 * 75 * 4), M: 3, K: 64 }),
        'matmul: x has K = 64 columns but the weight is [75, 96]',
      ],
      [
        'int4 with K not a multiple of 32',
        () => ({ x: bufs.empty(2 * 48 * 4), weight: w('int4', 8, 48), out: bufs.empty(64), M: 2, K: 48 }),
        'matmul: int4 weights need K to be a multiple of 32, got 48',
      ],
      [
        'int8 with K not a multiple of 4',
        () => ({ x: bufs.empty(4 * 6 * 4), weight: w('int8', 8, 6), out: bufs.empty(128), M: 4, K: 6 }),
        'matmul: int8 weights need K to be a multiple of 4, got 6',
      ],
      [
        'x too small',
        () => ({ x: bufs.empty(256), weight: w('f32', 8, 64), out: bufs.empty(3 * 8 * 4), M: 3, K: 64 }),
        'matmul: x holds 256 bytes but 768 are needed',
      ],
      [
        'out too small',
        () => ({ x: bufs.empty(3 * 64 * 4), weight: w('f32', 8, 64), out: bufs.empty(64), M: 3, K: 64 }),
        'matmul: out holds 64 bytes but 96 are needed',
      ],
      [
        'int4 weight too small',
        () => ({ x: bufs.empty(64 * 4), weight: w('int4', 8, 64, 128), out: bufs.empty(32), M: 1, K: 64 }),
        'matmul: weight (int4 [8, 64]) holds 128 bytes but 256 are needed',
      ],
      [
        'int4 scales too small',
        () => ({
          x: bufs.empty(64 * 4),
          weight: { ...w('int4', 8, 64), weightScale: bufs.empty(32) } as LinearWeight,
          out: bufs.empty(32),
          M: 1,
          K: 64,
        }),
        'matmul: weightScale holds 32 bytes but 64 are needed',
      ],
      [
        'bias too small',
        () => ({
          x: bufs.empty(64 * 4),
          weight: w('f32', 8, 64),
          bias: bufs.empty(16),
          out: bufs.empty(32),
          M: 1,
          K: 64,
        }),
        'matmul: bias holds 16 bytes but 32 are needed',
      ],
      [
        'out aliasing x',
        () => {
          const x = bufs.empty(64 * 4);
          return { x, weight: w('f32', 8, 64), out: x, M: 1, K: 64 };
        },
        'matmul: out must not alias x',
      ],
      [
        'M = 0',
        () => ({ x: bufs.empty(64 * 4), weight: w('f32', 8, 64), out: bufs.empty(32), M: 0, K: 64 }),
        'matmul: M must be a positive integer, got 0',
      ],
      [
        'an unknown activation',
        () => ({
          x: bufs.empty(64 * 4),
          weight: w('f32', 8, 64),
          out: bufs.empty(32),
          M: 1,
          K: 64,
          activation: 'toString' as MatmulActivation,
        }),
        'matmul: unknown activation toString',
      ],
      [
        'GEMV lanes not a power of two',
        () => ({
          x: bufs.empty(64 * 4),
          weight: w('f32', 8, 64),
          out: bufs.empty(32),
          M: 1,
          K: 64,
          variant: 'gemv',
          gemvLanes: 12,
        }),
        'matmul: gemvLanes must be a power of two from 2 to 256, got 12',
      ],
      [
        'shards that leave a gap',
        () => ({
          x: bufs.empty(64 * 4),
          weight: {
            format: 'f32',
            out: 8,
            in: 64,
            shards: [
              { row0: 0, weight: w('f32', 4, 64) },
              { row0: 5, weight: w('f32', 3, 64) },
            ],
          } as unknown as LinearWeight,
          out: bufs.empty(32),
          M: 1,
          K: 64,
        }),
        'matmul: shard 1 ([3, 64] f32 at row 5) does not continue a [8, 64] f32 weight at row 4',
      ],
      [
        'the regs kernel with K not a multiple of 32',
        () => ({
          x: bufs.empty(5 * 48 * 4),
          weight: w('f32', 8, 48),
          out: bufs.empty(5 * 32),
          M: 5,
          K: 48,
          variant: 'regs',
        }),
        'matmul: the regs kernel needs K to be a multiple of 32, got 48',
      ],
      [
        'f16 tiles on a device without shader-f16',
        () => ({
          x: bufs.empty(64 * 4),
          weight: w('f32', 8, 64),
          out: bufs.empty(32),
          M: 1,
          K: 64,
          variant: 'tiled',
          precision: 'f16',
        }),
        'matmul: precision f16 needs a device with shader-f16',
      ],
    ];
    it.each(cases)('%s', (label, make, message) => {
      if (label.startsWith('f16') && device.features.has('shader-f16')) return;
      const batch = new GpuBatch(device);
      const args = make();
      expect(() => matmul(batch, args)).toThrow(KernelArgError);
      expect(() => matmul(batch, args)).toThrow(message);
    });
  });
});

describe('matmul f16 variant (chosen by device features; not executed on the software adapter)', () => {
  const fakeBuffer = { size: 1 << 20 } as GPUBuffer;
  /** A batch stand-in on a device that reports `features`, recording what matmul asks of it. */
  function fakeBatch(features: string[]) {
    const seen: { key: string; code: string; constants?: Record<string, number> }[] = [];
    const batch = {
      device: { features: new Set(features), limits: { maxComputeWorkgroupsPerDimension: 65535 } },
      pipeline: (key: string, code: string, constants?: Record<string, number>) => (
        seen.push({ key, code, constants }),
        {}
      ),
      uniform: () => fakeBuffer,
      dispatch: () => {},
    } as unknown as GpuBatch;
    return { batch, seen };
  }
  const args = (M: number): MatmulArgs => ({
    x: fakeBuffer,
    weight: { format: 'int4', out: 64, in: 64, weightQ4: fakeBuffer, weightScale: fakeBuffer },
    out: { size: 1 << 20 } as GPUBuffer,
    M,
    K: 64,
  });

  it('uses f16 tiles where the device has shader-f16 and f32 elsewhere; the decode kernels stay f32', () => {
    const f16 = fakeBatch(['shader-f16']);
    matmul(f16.batch, args(64));
    // One row, K 64: by default decodeMatmulVariant's dot; GEMV forced.
    matmul(f16.batch, args(1));
    matmul(f16.batch, { ...args(1), variant: 'gemv' });
    expect(f16.seen.map((s) => s.key)).toEqual([
      'matmul_tiled:f16:int4:32x32',
      'matmul_dot:f32:int4',
      'matmul_gemv:f32:int4',
    ]);
    expect(f16.seen[0]!.code).toBe(matmulCode('tiled', 'f16'));
    const f32 = fakeBatch(['subgroups']);
    matmul(f32.batch, args(64));
    expect(f32.seen[0]!.key).toBe('matmul_tiled:f32:int4:32x32');
    expect(f32.seen[0]!.code).toBe(matmulCode('tiled', 'f32'));
    expect(f32.seen[0]!.constants).toEqual({ FORMAT: 3, TILE_M: 32, TILE_N: 32, TILE_K: 16 });
  });

  it('the f16 text is the f32 text plus `enable f16;` and an f16 tile type, nothing else', () => {
    const a = matmulCode('tiled', 'f32').split('\n');
    const b = matmulCode('tiled', 'f16').split('\n');
    expect(b[0]).toBe('enable f16;');
    const rest = b.slice(1);
    expect(rest.length).toBe(a.length);
    const diff = a.flatMap((line, i) => (line === rest[i] ? [] : [[line, rest[i]]]));
    expect(diff).toEqual([['alias tile_t = f32;', 'alias tile_t = f16;']]);
  });
});
