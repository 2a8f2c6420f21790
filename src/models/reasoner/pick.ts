/**
 * @file Choosing each token. On WebGPU the choice is encoded into the step's command batch, reading ORT's logits
 * buffer in place, and only the chosen id is read back. On WASM it runs on the logits ORT returned on the CPU.
 */
import { RgError } from '../../errors';
import type { GpuBatch } from '../../gpu/batch';
import { bufferOf, type OrtTensor } from '../../runtime/ort';
import type { ReasonerModel } from './model';
import { argmax, type ResolvedSampling } from './sampling';

export interface TokenPicker {
  /** WebGPU: encodes the choice from row `row` of the logits tensor `[1, rows, vocab]` at generation step `step`. */
  encode(batch: GpuBatch, logits: OrtTensor, row: number, step: number): void;
  /** WebGPU: the id chosen by the last submitted `encode` (waits for the GPU). */
  read(): Promise<number>;
  /** WASM: the id chosen from row `row` of CPU logits. */
  pickCpu(logits: Float32Array, row: number, step: number): number;
  dispose(): void;
}

/** A picker for `model`'s backend with `sampling`'s settings. */
export function createTokenPicker(model: ReasonerModel, sampling: ResolvedSampling): TokenPicker {
  const V = model.config.vocab_size;
  const cpu = (logits: Float32Array, row: number, step: number) => pickFromRow(logits, row * V, V, sampling, step);
  const device = model.device;
  if (!device) {
    return {
      encode: () => {
        throw new RgError('INTERNAL', 'TokenPicker.encode on the WASM backend');
      },
      read: () => Promise.reject(new RgError('INTERNAL', 'TokenPicker.read on the WASM backend')),
      pickCpu: cpu,
      dispose: () => undefined,
    };
  }
  // Until the sample kernel is wired in: the row of logits is copied to a staging buffer and chosen on the CPU.
  const staging = device.createBuffer({ label: 'reasoner logits row', size: V * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  let step = -1;
  return {
    encode(batch, logits, row, s) {
      batch.encoder.copyBufferToBuffer(bufferOf(logits), row * V * 4, staging, 0, V * 4);
      step = s;
    },
    async read() {
      await staging.mapAsync(GPUMapMode.READ);
      try {
        return pickFromRow(new Float32Array(staging.getMappedRange()), 0, V, sampling, step);
      } finally {
        staging.unmap();
      }
    },
    pickCpu: cpu,
    dispose: () => staging.destroy(),
  };
}

function pickFromRow(logits: Float32Array, offset: number, V: number, s: ResolvedSampling, _step: number): number {
  if (s.greedy) return argmax(logits, offset, V);
  throw new RgError('INTERNAL', 'sampling (non-greedy) waits for the sample kernel');
}
