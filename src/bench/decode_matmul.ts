/**
 * @file Benchmarks of the matmul kernels side by side on one product, int4 block-32 and f32 weights, each output
 * checked against the CPU twin before timing (random weights: the values do not change the work).
 * - `decode-matmul-0.5b`: one decode row (M = 1) through each decode matmul of the Qwen2-0.5B shape: `dot` (one
 *   invocation per output column), `gemv` with its default 32 lanes per column and with 8 and 4 (more columns per
 *   workgroup, fewer reduction steps), and `regs` (the generated register kernel, src/kernels/matmul_regs.ts).
 * - `painter-matmul`: 128 rows (an eighth of a step's 1,025) through each projection of OmniGen's layer: the tiled
 *   kernel with its small and large block against `regs`.
 * What `decodeMatmulVariant` picks on this device is marked in the notes.
 */
import { GpuBatch } from '../gpu/batch';
import { emptyBuffer, readF32, uploadBuffer } from '../gpu/readback';
import {
  decodeMatmulVariant,
  matmul,
  type LinearWeight,
  type MatmulTileChoice,
  type MatmulVariant,
} from '../kernels/matmul';
import { matmulRef, type LinearWeightData } from '../kernels/matmul.ref';
import { maxAbsDiff, measureInterleaved, randomF32, type Impl } from './measure';
import type { Bench, BenchContext, BenchReport } from './registry';

/** The decode matmuls of one Qwen2-0.5B layer and its tied lm_head: [N, K] of each weight. */
export const DECODE_SHAPES = [
  { name: 'q/k/v fused', N: 1152, K: 896 },
  { name: 'o', N: 896, K: 896 },
  { name: 'gate|up', N: 9728, K: 896 },
  { name: 'down', N: 896, K: 4864 },
  { name: 'lm_head', N: 151_936, K: 896 },
] as const;

/** The projections of one OmniGen (Phi-3) layer: fused q/k/v, o, fused gate|up, down. */
export const PAINTER_SHAPES = [
  { name: 'q/k/v fused', N: 9216, K: 3072 },
  { name: 'o', N: 3072, K: 3072 },
  { name: 'gate|up', N: 16_384, K: 3072 },
  { name: 'down', N: 3072, K: 8192 },
] as const;

/** A kernel choice: the variant and, for GEMV, its lanes per output column, for the tiled kernel its block. */
interface Kernel {
  label: string;
  variant: MatmulVariant;
  lanes?: number;
  tile?: MatmulTileChoice;
}

const DECODE_KERNELS: Kernel[] = [
  { label: 'dot', variant: 'dot' },
  { label: 'gemv 32 lanes', variant: 'gemv', lanes: 32 },
  { label: 'gemv 8 lanes', variant: 'gemv', lanes: 8 },
  { label: 'gemv 4 lanes', variant: 'gemv', lanes: 4 },
  { label: 'regs', variant: 'regs' },
];

const PAINTER_KERNELS: Kernel[] = [
  { label: 'tiled 32×32', variant: 'tiled', tile: 'small' },
  { label: 'tiled 64×64', variant: 'tiled', tile: 'large' },
  { label: 'regs', variant: 'regs' },
];

/** Rows of the painter products: the first eighth of one step's 1,025 (time token + 1,024 image tokens). */
const PAINTER_ROWS = 128;

/** Seeded random weights of `format` [N, K]: int4 nibbles and scales drawn directly (no quantisation pass). */
function randomWeight(format: 'f32' | 'int4', N: number, K: number, seed: number): LinearWeightData {
  if (format === 'f32') return { format, out: N, in: K, weight: randomF32(N * K, seed, 0.05) };
  const q = new Uint8Array(new Uint32Array(randomF32((N * K) / 8, seed).buffer).map((u) => u ^ (u >>> 16)).buffer);
  const weightScale = randomF32((N * K) / 32, seed + 1, 0.01).map(Math.abs);
  return { format, out: N, in: K, weightQ4: q, weightScale };
}

function upload(device: GPUDevice, w: LinearWeightData, owned: GPUBuffer[]): LinearWeight {
  const up = (a: ArrayBufferView, label: string) => {
    const b = uploadBuffer(device, a, label);
    owned.push(b);
    return b;
  };
  if (w.format === 'f32') return { format: 'f32', out: w.out, in: w.in, weight: up(w.weight, 'bench w') };
  if (w.format !== 'int4') throw new Error(`no bench upload for ${w.format}`);
  return {
    format: 'int4',
    out: w.out,
    in: w.in,
    weightQ4: up(w.weightQ4, 'bench w q4'),
    weightScale: up(w.weightScale, 'bench w scale'),
  };
}

async function runShape(
  shape: { name: string; N: number; K: number },
  M: number,
  kernels: Kernel[],
  format: 'f32' | 'int4',
  report: BenchReport,
  ctx: BenchContext,
): Promise<void> {
  const { device } = ctx;
  const { N, K } = shape;
  const owned: GPUBuffer[] = [];
  try {
    const data = randomWeight(format, N, K, N + K);
    const x = randomF32(M * K, 3);
    const w = upload(device, data, owned);
    const xBuf = uploadBuffer(device, x, 'bench x');
    owned.push(xBuf);
    const outs = kernels.map(() => {
      const b = emptyBuffer(device, M * N * 4, 'bench y');
      owned.push(b);
      return b;
    });
    const encode = (i: number) => {
      const kern = kernels[i]!;
      const batch = new GpuBatch(device, `matmul ${kern.label}`);
      const { variant, lanes: gemvLanes, tile } = kern;
      matmul(batch, { x: xBuf, weight: w, out: outs[i]!, M, K, variant, gemvLanes, tile });
      batch.submit();
    };
    const want = matmulRef({ x, weight: data, M, K });
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const notes: string[] = [];
    for (let i = 0; i < kernels.length; i++) {
      encode(i);
      const err = maxAbsDiff(await readF32(device, outs[i]!, M * N), want) / scale;
      notes.push(`${kernels[i]!.label}: max |Δ| / max |y| against the CPU twin ${err.toExponential(1)}`);
      if (!(err < 1e-5)) throw new Error(`${shape.name} ${format} ${kernels[i]!.label} is wrong: ${err}`);
    }
    const picked = decodeMatmulVariant(M, K, device);
    notes.push(`decodeMatmulVariant(${M}, ${K}) on this device: ${picked}`);
    // A few calls per sample where one call is short, so that a sample is not mostly submit/wait latency.
    const impls: Impl[] = kernels.map((kern, i) => ({ name: kern.label, run: () => encode(i) }));
    const big = M * N * K >= 50e6;
    const m = await measureInterleaved(device, impls, {
      warmup: 1,
      reps: ctx.reps ?? (big ? 2 : 3),
      iterations: big ? 1 : 3,
      onSample: (impl, ms) => report.log(`${shape.name} ${format} ${impl}: ${ms.toFixed(1)} ms`),
    });
    report.result({
      name: `${shape.name} ${format}`,
      sizes: `M ${M}, K ${K}, N ${N}, ${format}${format === 'int4' ? ' block-32' : ''}`,
      baseline: kernels[0]!.label,
      measurements: m,
      notes,
    });
  } finally {
    for (const b of owned) b.destroy();
  }
}

export const decodeMatmulBench: Bench = {
  name: 'decode-matmul-0.5b',
  optIn: true,
  description:
    'one decode row through each matmul of the Qwen2-0.5B shape (q/k/v, o, gate|up, down, lm_head), int4 and f32: ' +
    'the dot kernel against GEMV with 32, 8 and 4 lanes per output column and the regs kernel',
  async run(report: BenchReport, ctx: BenchContext) {
    for (const format of ['int4', 'f32'] as const)
      for (const shape of DECODE_SHAPES) await runShape(shape, 1, DECODE_KERNELS, format, report, ctx);
  },
};

export const painterMatmulBench: Bench = {
  name: 'painter-matmul',
  optIn: true,
  description:
    `${PAINTER_ROWS} rows through each projection of OmniGen's layer (q/k/v, o, gate|up, down; K 3,072 / 8,192), ` +
    'int4: the tiled kernel (32×32 and 64×64 blocks) against the regs kernel',
  async run(report: BenchReport, ctx: BenchContext) {
    for (const shape of PAINTER_SHAPES) await runShape(shape, PAINTER_ROWS, PAINTER_KERNELS, 'int4', report, ctx);
  },
};
