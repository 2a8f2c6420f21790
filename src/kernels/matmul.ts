/**
 * @file matmul: y[M, N] = act(x[M, K] · Wᵀ + bias) with W in PyTorch layout [N, K], stored f32, f16, bf16, int8 per
 * output channel or int4 block-32 (docs/formats.md) and dequantised inside the kernel. Four kernels: a tiled one for M
 * above a few rows, a GEMV one for decode (a weight row split across 32 lanes), a dot one for decode with a short K
 * or on a fallback (CPU) adapter (one invocation per output column, no workgroup memory), and `regs`, generated
 * (src/kernels/matmul_regs.ts), for most products on a fallback adapter; `matmul` picks one by
 * `decodeMatmulVariant` unless told (`matmulVariant` is the choice between tiled and GEMV by rows alone).
 */
import type { GpuBatch } from '../gpu/batch';
import { isFallbackDevice, type AdapterKind } from '../gpu/device';
import fns from '../../shaders/gelu_fns.wgsl?raw';
import common from '../../shaders/matmul_common.wgsl?raw';
import out from '../../shaders/matmul_out.wgsl?raw';
import tiled from '../../shaders/matmul_tiled.wgsl?raw';
import gemv from '../../shaders/matmul_gemv.wgsl?raw';
import dot from '../../shaders/matmul_dot.wgsl?raw';
import { need, needBytes, needCount, precisionFor, type Precision } from './dispatch';
import { matmulRegsCode, regsBlock, regsGroups, REGS_K_MULTIPLE, type RegsBlock } from './matmul_regs';

/** How a linear layer's weight is stored. `out` × `in` is the logical PyTorch shape [N, K]. */
export type LinearWeight =
  /** `weight` F32 [out, in]. */
  | { format: 'f32'; out: number; in: number; weight: GPUBuffer }
  /** `weight` F16 [out, in] (in even); read with unpack2x16float, so it needs no shader-f16. */
  | { format: 'f16'; out: number; in: number; weight: GPUBuffer }
  /** `weight_q` I8 [out, in] (in a multiple of 4) and `weight_scale` F32 [out]. */
  | { format: 'int8'; out: number; in: number; weightQ: GPUBuffer; weightScale: GPUBuffer }
  /** `weight_q4` U8 [out, in / 2] (in a multiple of 32) and `weight_scale` F32 [out, in / 32]. */
  | { format: 'int4'; out: number; in: number; weightQ4: GPUBuffer; weightScale: GPUBuffer }
  /** `weight` BF16 [out, in] (in even); the top half of an f32, read with a shift (no shader-f16). */
  | { format: 'bf16'; out: number; in: number; weight: GPUBuffer };

export type WeightFormat = LinearWeight['format'];

/**
 * A weight split by output rows into shards, each its own LinearWeight (own buffers) holding rows
 * [row0, row0 + shard.out) of the logical [out, in] weight: how a tensor larger than the device's
 * `maxStorageBufferBindingSize` is held. The shards are in order, contiguous, of one format and `in`.
 */
export interface ShardedWeight {
  format: WeightFormat;
  out: number;
  in: number;
  shards: readonly { row0: number; weight: LinearWeight }[];
}

/** A weight as the engines hold it: whole, or in row shards. */
export type AnyWeight = LinearWeight | ShardedWeight;

/** The row shards of `w`: one shard at row 0 for a whole weight. */
export function weightShards(w: AnyWeight): readonly { row0: number; weight: LinearWeight }[] {
  return 'shards' in w ? w.shards : [{ row0: 0, weight: w }];
}

/** The GPU buffers `w` reads (every shard's words and scales). */
export function weightBuffersOf(w: AnyWeight): GPUBuffer[] {
  return weightShards(w).flatMap(({ weight }) => {
    const { words, scale } = weightBuffers(weight);
    return scale ? [words, scale] : [words];
  });
}

/** Fused activation: 'gelu' is the exact (erf) GELU of PyTorch's F.gelu; 'gelu_tanh' its tanh approximation. */
export type MatmulActivation = 'none' | 'gelu' | 'gelu_tanh' | 'silu';

export type MatmulVariant = 'tiled' | 'gemv' | 'dot' | 'regs';

export interface MatmulArgs {
  /** F32 [M, K]. */
  x: GPUBuffer;
  /** [N, K]; a sharded weight runs one dispatch per shard, each writing its column range of `out`. */
  weight: AnyWeight;
  /** F32 [N], optional. */
  bias?: GPUBuffer;
  /** F32 [M, N]; must not be one of the inputs. */
  out: GPUBuffer;
  M: number;
  K: number;
  activation?: MatmulActivation;
  /** Forces a kernel; by default `decodeMatmulVariant(M, K, device)` (which is `matmulVariant(M)` above 4 rows). */
  variant?: MatmulVariant;
  /** Workgroup-tile precision of the tiled kernel; by default `precisionFor(device)`. Accumulation is always f32. */
  precision?: Precision;
  /** Lanes per output column of the GEMV kernel: a power of two from 2 to 256; by default GEMV_LANES. */
  gemvLanes?: number;
  /** Forces the tiled kernel's block, or the regs kernel's (large 4 × 8, small 4 × 4); by default their rules. */
  tile?: MatmulTileChoice;
}

const FORMAT_ID: Record<WeightFormat, number> = { f32: 0, f16: 1, int8: 2, int4: 3, bf16: 4 };
const ACT_ID: Record<MatmulActivation, number> = { none: 0, gelu: 1, gelu_tanh: 2, silu: 3 };
/** K must be a multiple of this for each format (whole u32 words per row; whole int4 blocks). */
export const K_MULTIPLE: Record<WeightFormat, number> = { f32: 1, f16: 2, int8: 4, int4: 32, bf16: 2 };
export const BYTES_PER_ELEMENT: Record<WeightFormat, number> = { f32: 4, f16: 2, int8: 1, int4: 0.5, bf16: 2 };

/** Tiled kernel: output block per workgroup and K step (TILE_K a multiple of 8 so int4 words fit whole). */
const TILE = { TILE_M: 64, TILE_N: 64, TILE_K: 16 };
/**
 * The smaller block for problems that would give fewer than SMALL_BELOW large blocks: the painter's ~130-row,
 * 64..384-column products padded to 64×64 blocks waste up to half their work and leave few workgroups to spread.
 */
const SMALL_TILE = { TILE_M: 32, TILE_N: 32, TILE_K: 16 };
const SMALL_BELOW = 16;

/** Which block the tiled kernel uses: by the rule of `matmulTile`, or forced (tests, benchmarks). */
export type MatmulTileChoice = 'auto' | 'large' | 'small';

/**
 * The tile of the tiled kernel for an M × N output on `device`. A fallback (CPU) adapter always takes the small
 * block: there the two ran the 0.5B prefill products in the same time (512×896×896 and 256×896×4,864, f32,
 * SwiftShader, 2026-12-03) and the small one was faster below, while each block size is a pipeline of its own whose
 * compile costs the CPU 0.8 s (32×32) or 1.6 s (64×64) on every new device.
 */
export function matmulTile(M: number, N: number, device?: AdapterKind, choice: MatmulTileChoice = 'auto'): typeof TILE {
  if (choice !== 'auto') return choice === 'large' ? TILE : SMALL_TILE;
  if (device && isFallbackDevice(device)) return SMALL_TILE;
  return Math.ceil(M / TILE.TILE_M) * Math.ceil(N / TILE.TILE_N) < SMALL_BELOW ? SMALL_TILE : TILE;
}
/** GEMV kernel: invocations per workgroup (its shader's WG) and, by default, invocations per output column. */
const GEMV_WG = 256;
export const GEMV_LANES = 32;
/** Up to this many rows the GEMV kernel wins: it reads the weights once per 4 rows with no tile padding. */
const GEMV_MAX_M = 4;

/** Tiled or GEMV by rows alone (`decodeMatmulVariant`, `matmul`'s default, refines the GEMV side). */
export function matmulVariant(M: number): MatmulVariant {
  return M <= GEMV_MAX_M ? 'gemv' : 'tiled';
}

/** Invocations per workgroup of the dot kernel (its shader's WG). */
const DOT_WG = 64;
/**
 * Up to this K the dot kernel serves decode rows on any adapter: a row of at most 256 elements is a short loop for
 * one invocation, while GEMV would give each of its 32 lanes a few words and then reduce. Longer rows go to GEMV on a
 * GPU, which spreads them over lanes, and to `regs` on a fallback adapter (dot when K is not a multiple of 32).
 */
export const DOT_MAX_K = 256;

export { isFallbackDevice, type AdapterKind };

/**
 * The kernel `matmul` runs by default. On a GPU: for decode-sized products (M ≤ 4 rows) dot when K ≤ DOT_MAX_K,
 * else GEMV (one invocation per column would leave most of the chip idle on the narrow projections and read each row
 * alone); above 4 rows the tiled kernel. On a fallback adapter (isFallbackDevice) the generated register-blocked
 * `regs` kernel (src/kernels/matmul_regs.ts) when K is a multiple of 32, since there workgroup tiles, barriers,
 * GEMV's reduction and private arrays cost more than the reads they save (9× over tiled at OmniGen's shape, 7.5×
 * over dot for a decode row at K 3,072) — except decode rows with K ≤ DOT_MAX_K, a short loop that dot runs with a
 * pipeline compiled in a tenth of the time; otherwise dot up to 4 rows and tiled above. (For hours decode rows were
 * kept on dot, for a soak e2e hang seen with this rule; that soak runs tiny-random, whose K never exceeds 128, so the
 * rule never touched it: the hang is not this kernel's; docs/benchmarks.md.)
 */
export function decodeMatmulVariant(M: number, K: number, device: AdapterKind): MatmulVariant {
  if (isFallbackDevice(device)) {
    if (M <= GEMV_MAX_M) return K > DOT_MAX_K && K % REGS_K_MULTIPLE === 0 ? 'regs' : 'dot';
    return K % REGS_K_MULTIPLE === 0 ? 'regs' : 'tiled';
  }
  if (M > GEMV_MAX_M) return matmulVariant(M);
  return K <= DOT_MAX_K ? 'dot' : 'gemv';
}

/**
 * The WGSL of one kernel. The f16 text (tiled only) is the f32 text with `enable f16;` in front and the tile type
 * alias switched to f16. The weight format and the tile sizes are override constants (one pipeline per kernel,
 * precision and format); sizes, activation and bias are uniforms.
 */
export function matmulCode(
  variant: MatmulVariant,
  precision: Precision = 'f32',
  format: WeightFormat = 'f32',
  block: RegsBlock = { RM: 4, RN: 8 },
): string {
  if (variant === 'regs') return matmulRegsCode(format, block);
  if (variant === 'gemv') return [fns, out, common, gemv].join('\n');
  if (variant === 'dot') return [fns, out, common, dot].join('\n');
  const body = precision === 'f16' ? tiled.replace('alias tile_t = f32;', 'alias tile_t = f16;') : tiled;
  return [...(precision === 'f16' ? ['enable f16;'] : []), fns, out, common, body].join('\n');
}

/** The buffer of a weight's elements and, for int8 / int4, of its scales. */
export function weightBuffers(w: LinearWeight): { words: GPUBuffer; scale?: GPUBuffer } {
  switch (w.format) {
    case 'f32':
    case 'f16':
    case 'bf16':
      return { words: w.weight };
    case 'int8':
      return { words: w.weightQ, scale: w.weightScale };
    case 'int4':
      return { words: w.weightQ4, scale: w.weightScale };
  }
}

/** The regs kernel's block: `regsBlock`'s rule, or the one forced by `tile` above 4 rows. */
function regsBlockChoice(M: number, N: number, K: number, tile: MatmulTileChoice = 'auto'): RegsBlock {
  if (tile === 'auto' || M <= 4) return regsBlock(M, N, K);
  return tile === 'large' ? { RM: 4, RN: 8 } : { RM: 4, RN: 4 };
}

/** Throws KernelArgError unless `w` is a valid sharded weight: contiguous shards of one format and `in`. */
export function checkShards(kernel: string, w: ShardedWeight): void {
  need(kernel, w.shards.length > 0, 'a sharded weight needs at least one shard');
  let row = 0;
  for (const [i, { row0, weight }] of w.shards.entries()) {
    need(
      kernel,
      row0 === row && weight.format === w.format && weight.in === w.in,
      `shard ${i} ([${weight.out}, ${weight.in}] ${weight.format} at row ${row0}) does not continue ` +
        `a [${w.out}, ${w.in}] ${w.format} weight at row ${row}`,
    );
    row += weight.out;
  }
  need(kernel, row === w.out, `the shards hold ${row} rows of ${w.out}`);
}

/** Encodes y = act(x · Wᵀ + bias) into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function matmul(batch: GpuBatch, args: MatmulArgs): void {
  const k = 'matmul';
  const { x, weight, bias, out, M, K } = args;
  const activation = args.activation ?? 'none';
  need(
    k,
    typeof weight === 'object' && weight !== null && Object.hasOwn(FORMAT_ID, weight.format),
    `unknown weight format ${String(weight?.format)}`,
  );
  need(k, Object.hasOwn(ACT_ID, activation), `unknown activation ${String(activation)}`);
  needCount(k, 'M', M);
  needCount(k, 'K', K);
  needCount(k, 'weight.out', weight.out);
  needCount(k, 'weight.in', weight.in);
  const N = weight.out;
  need(k, weight.in === K, `x has K = ${K} columns but the weight is [${weight.out}, ${weight.in}]`);
  const mult = K_MULTIPLE[weight.format];
  need(k, K % mult === 0, `${weight.format} weights need K to be a multiple of ${mult}, got ${K}`);
  if ('shards' in weight) checkShards(k, weight);
  const shards = weightShards(weight);

  needBytes(k, 'x', x, M * K * 4);
  needBytes(k, 'out', out, M * N * 4);
  for (const { weight: w } of shards) {
    const { words, scale } = weightBuffers(w);
    needBytes(k, `weight (${w.format} [${w.out}, ${K}])`, words, w.out * K * BYTES_PER_ELEMENT[w.format]);
    if (scale) needBytes(k, 'weightScale', scale, (w.format === 'int4' ? w.out * (K / 32) : w.out) * 4);
  }
  if (bias) needBytes(k, 'bias', bias, N * 4);
  for (const [name, b] of [
    ['x', x],
    ...weightBuffersOf(weight).map((b) => ['weight', b] as const),
    ['bias', bias],
  ] as const) {
    need(k, b !== out, `out must not alias ${name}`);
  }

  const variant = args.variant ?? decodeMatmulVariant(M, K, batch.device);
  need(
    k,
    variant === 'tiled' || variant === 'gemv' || variant === 'dot' || variant === 'regs',
    `unknown variant ${String(variant)}`,
  );
  need(
    k,
    variant !== 'regs' || K % REGS_K_MULTIPLE === 0,
    `the regs kernel needs K to be a multiple of ${REGS_K_MULTIPLE}, got ${K}`,
  );
  const lanes = args.gemvLanes ?? GEMV_LANES;
  need(
    k,
    Number.isInteger(lanes) && lanes >= 2 && lanes <= GEMV_WG && (lanes & (lanes - 1)) === 0,
    `gemvLanes must be a power of two from 2 to ${GEMV_WG}, got ${String(lanes)}`,
  );
  const precision = variant === 'tiled' ? (args.precision ?? precisionFor(batch.device)) : 'f32';
  need(
    k,
    precision === 'f32' || batch.device.features.has('shader-f16'),
    'precision f16 needs a device with shader-f16',
  );
  for (const { row0, weight: w } of shards) {
    const Ns = w.out;
    const { words, scale } = weightBuffers(w);
    const constants: Record<string, number> = { FORMAT: FORMAT_ID[w.format] };
    let groups: [number, number];
    let tileKey = '';
    if (variant === 'regs') {
      delete constants.FORMAT; // generated per format and block: no override constants
      const block = regsBlockChoice(M, Ns, K, args.tile);
      groups = regsGroups(M, Ns, block);
      tileKey = `:${block.RM}x${block.RN}`;
    } else if (variant === 'tiled') {
      const tile = matmulTile(M, Ns, batch.device, args.tile);
      Object.assign(constants, tile);
      groups = [Math.ceil(Ns / tile.TILE_N), Math.ceil(M / tile.TILE_M)];
      tileKey = `:${tile.TILE_M}x${tile.TILE_N}`;
    } else if (variant === 'gemv') {
      constants.COLS = GEMV_WG / lanes;
      groups = [Math.ceil((Ns * lanes) / GEMV_WG), 1];
      if (lanes !== GEMV_LANES) tileKey = `:L${lanes}`;
    } else {
      groups = [Math.ceil(Ns / DOT_WG), 1];
    }
    const key = `matmul_${variant}:${precision}:${w.format}${tileKey}`;
    const block = variant === 'regs' ? regsBlockChoice(M, Ns, K, args.tile) : undefined;
    const pipeline = batch.pipeline(key, matmulCode(variant, precision, w.format, block), constants);
    // The shard writes columns [row0, row0 + Ns) of rows N wide (and reads bias[row0 + n]).
    const params = new Uint32Array([M, Ns, K, ACT_ID[activation], bias ? 1 : 0, N, row0]);
    // Unused bindings (scale for f32/f16/bf16, bias when absent) get x: read-only, never read by that pipeline.
    batch.dispatch(pipeline, [x, words, scale ?? x, bias ?? x, out, batch.uniform(params)], groups);
  }
}
