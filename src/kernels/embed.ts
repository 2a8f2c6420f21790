/**
 * @file embed: rows of an embedding table gathered by token id, out[r] = table[ids[idOffset + r]] ([rows, dim]).
 * The ids are read from a GPU buffer (u32), e.g. the one the `sample` kernel writes, so the reasoner's decode loop
 * embeds the token just drawn without a CPU round trip. An id ≥ vocab (which only a corrupt id buffer can hold)
 * gives a zero row instead of reading outside the table.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/embed.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

/** Invocations per workgroup (the shader's @workgroup_size). */
const WG = 256;

export interface EmbedArgs {
  /** F32 [vocab, dim]. */
  table: GPUBuffer;
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
  const { table, ids, out, rows, dim, vocab } = args;
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
  needBytes(k, `table ([${vocab}, ${dim}])`, table, vocab * dim * 4);
  needBytes(k, 'ids', ids, (idOffset + rows) * 4);
  needBytes(k, 'out', out, rows * dim * 4);
  need(k, out !== table && out !== ids, `out must not alias ${out === table ? 'table' : 'ids'}`);
  const total = rows * dim;
  const { groups, stride } = flatGroups(total, WG);
  const u = new Uint32Array([rows, dim, vocab, idOffset, total, stride]);
  batch.dispatch(batch.pipeline('embed', code), [table, ids, out, batch.uniform(u)], groups);
}
