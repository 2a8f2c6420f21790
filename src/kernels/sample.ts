/**
 * @file sample: logits → one token id on the GPU (greedy, temperature, top-k, top-p, seeded), written as one u32 so
 * that a decode step reads back 4 bytes. The exact semantics are those of the CPU twin `sampleRef`
 * (src/kernels/sample.ref.ts); the kernel picks the same id for the same seed. The draw uses Philox4x32-10
 * (shaders/philox.wgsl) on counter (step, 0, 0, 1) with key (seed, 0).
 */
import type { GpuBatch } from '../gpu/batch';
import philox from '../../shaders/philox.wgsl?raw';
import body from '../../shaders/sample.wgsl?raw';
import { need, needBytes, needCount } from './dispatch';
import { SAMPLE_KMAX, SAMPLE_STREAM, sampleParams, type SampleSettings } from './sample_params';

const code = `${philox}\n${body}`;

export interface SampleArgs extends SampleSettings {
  /** f32 logits [rows, vocab] (e.g. onnxruntime's [1, S, V]). */
  logits: GPUBuffer;
  /** u32 output; the id goes to element `outIndex`. */
  out: GPUBuffer;
  vocab: number;
  /** The row to sample (S − 1 for the last position). Default 0. */
  row?: number;
  /** Element of `out` that receives the id (so a decode loop can collect ids on the GPU). Default 0. */
  outIndex?: number;
}

/** Encodes one sampling step into `batch` (one workgroup). */
export function sample(batch: GpuBatch, args: SampleArgs): void {
  const row = args.row ?? 0;
  const outIndex = args.outIndex ?? 0;
  needCount('sample', 'vocab', args.vocab);
  needCount('sample', 'row', row, true);
  needCount('sample', 'outIndex', outIndex, true);
  const sp = sampleParams('sample', args);
  need('sample', (row + 1) * args.vocab <= 2 ** 32, `row ${row} x vocab ${args.vocab} exceeds 2^32 elements`);
  needBytes('sample', 'logits', args.logits, (row + 1) * args.vocab * 4);
  needBytes('sample', 'out', args.out, (outIndex + 1) * 4);
  let idBytes = 1;
  while (idBytes < 4 && args.vocab - 1 >= 2 ** (8 * idBytes)) idBytes++;
  const u = new ArrayBuffer(40);
  new Uint32Array(u, 0, 8).set([
    args.vocab,
    row * args.vocab,
    outIndex,
    sp.greedy ? 1 : 0,
    sp.k,
    sp.topPQ,
    sp.seed,
    sp.step,
  ]);
  new Float32Array(u, 32, 1)[0] = sp.s;
  new Uint32Array(u, 36, 1)[0] = idBytes;
  // Greedy settings take the argmax-only entry point: the same id, a fraction of the compile on a CPU adapter.
  const pipeline = sp.greedy
    ? batch.pipeline('sample:greedy', code, { WG: SAMPLE_KMAX }, 'greedy')
    : batch.pipeline('sample', code, { WG: SAMPLE_KMAX, SAMPLE_STREAM });
  batch.dispatch(pipeline, [args.logits, args.out, batch.uniform(u)], [1]);
}
