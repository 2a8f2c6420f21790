/**
 * @file embed: rows of an embedding table gathered by token id, out[r] = table[ids[idOffset + r]] ([rows, dim]).
 * The ids are read from a GPU buffer (u32), e.g. the one the `sample` kernel writes, so the reasoner's decode loop
 * embeds the token just drawn without a CPU round trip. An id ≥ vocab (which only a corrupt id buffer can hold)
 * gives a zero row instead of reading outside the table.
 *
 * The table is an F32 buffer or a weight of any matmul format ([vocab, dim] as a LinearWeight: f32, f16, bf16, int8
 * per row, int4 block-32), whole or in row shards (ShardedWeight), so a tied lm_head and the gather share one
 * buffer; the rows are dequantised to f32 exactly as the matmul kernel does.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/embed.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';
import {
  BYTES_PER_ELEMENT,
  checkShards,
  K_MULTIPLE,
  weightBuffers,
  weightShards,
  type AnyWeight,
  type WeightFormat,
} from './matmul';

/** Invocations per workgroup (the shader's @workgroup_size). */
const WG = 256;

const FORMAT_ID: Record<WeightFormat, number> = { f32: 0, f16: 1, int8: 2, int4: 3, bf16: 4 };

export interface EmbedArgs {
  /** F32 [vocab, dim] as a plain buffer, or a weight [out = vocab, in = dim] of any format, whole or sharded. */
  table: GPUBuffer | AnyWeight;
  /** U32 token ids; rows idOffset … idOffset + rows − 1 are used. */
  ids: GPUBuffer;
  /** F32 [rows, dim]; must not be table or ids. */
  out: GPUBuffer;
  rows: number;
  dim: number;
  vocab: number;
  /** The element of `ids` holding row 0's id. Default 0. */
  idOffset?: number;
}

/** Encodes embed into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function embed(batch: GpuBatch, args: EmbedArgs): void {
  const k = 'embed';
  const { ids, out, rows, dim, vocab } = args;
  const idOffset = args.idOffset ?? 0;
  needCount(k, 'rows', rows);
  needCount(k, 'dim', dim);
  needCount(k, 'vocab', vocab);
  needCount(k, 'idOffset', idOffset, true);
  need(
    k,
    vocab * dim <= 2 ** 32 && rows * dim <= 2 ** 32,
    `vocab ${vocab} or rows ${rows} x dim ${dim} exceeds 2^32 elements`,
  );
  const table: AnyWeight =
    'format' in args.table ? args.table : { format: 'f32', out: vocab, in: dim, weight: args.table };
  need(k, Object.hasOwn(FORMAT_ID, table.format), `unknown table format ${String(table.format)}`);
  need(
    k,
    table.out === vocab && table.in === dim,
    `the table is [${table.out}, ${table.in}] but vocab ${vocab} x dim ${dim} was asked for`,
  );
  const mult = K_MULTIPLE[table.format];
  need(k, dim % mult === 0, `a ${table.format} table needs dim to be a multiple of ${mult}, got ${dim}`);
  if ('shards' in table) checkShards(k, table);
  const shards = weightShards(table);
  for (const { weight: w } of shards) {
    const { words, scale } = weightBuffers(w);
    needBytes(k, `table (${w.format} [${w.out}, ${dim}])`, words, w.out * dim * BYTES_PER_ELEMENT[w.format]);
    if (scale) needBytes(k, 'table scale', scale, (w.format === 'int4' ? w.out * (dim / 32) : w.out) * 4);
    need(k, out !== words && out !== scale, 'out must not alias table');
  }
  needBytes(k, 'ids', ids, (idOffset + rows) * 4);
  needBytes(k, 'out', out, rows * dim * 4);
  need(k, out !== ids, 'out must not alias ids');
  const total = rows * dim;
  const { groups, stride } = flatGroups(total, WG);
  for (const { row0, weight: w } of shards) {
    const { words, scale } = weightBuffers(w);
    const u = new Uint32Array([rows, dim, vocab, idOffset, total, stride, row0, w.out]);
    const pipeline = batch.pipeline(`embed:${w.format}`, code, { FORMAT: FORMAT_ID[w.format] });
    // The scale binding of f32 / f16 / bf16 tables gets ids: read-only, never read by that pipeline.
    batch.dispatch(pipeline, [words, scale ?? ids, ids, out, batch.uniform(u)], groups);
  }
}
