/**
 * @file Choosing each token. On WebGPU the `sample` kernel is encoded into the step's command batch, reading ORT's
 * logits buffer in place, and only the chosen 4-byte id is read back. On WASM its CPU twin runs on the logits ORT
 * returned. Both pick the same id for the same settings and step.
 */
import { RgError } from '../../errors';
import type { GpuBatch } from '../../gpu/batch';
import { sample } from '../../kernels/sample';
import { sampleRef } from '../../kernels/sample.ref';
import { bufferOf, type OrtTensor } from '../../runtime/ort';
import type { ReasonerModel } from './model';
import { kernelSettings, type ResolvedSampling } from './sampling';

export interface TokenPicker {
  /** WebGPU: encodes the choice from row `row` of the logits tensor `[1, rows, vocab]` at generation step `step`. */
  encode(batch: GpuBatch, logits: OrtTensor, row: number, step: number): void;
  /** WebGPU: the id chosen by the last submitted `encode` (waits for the GPU; reads back 4 bytes). */
  read(): Promise<number>;
  /** WASM: the id chosen from row `row` of CPU logits. */
  pickCpu(logits: Float32Array, row: number, step: number): number;
  dispose(): void;
}

/** A picker for `model`'s backend with `sampling`'s settings. It owns two 4-byte buffers on WebGPU. */
export function createTokenPicker(model: ReasonerModel, sampling: ResolvedSampling): TokenPicker {
  const vocab = model.config.vocab_size;
  const pickCpu = (logits: Float32Array, row: number, step: number) => sampleRef(logits, { vocab, row, ...kernelSettings(sampling, step) });
  const device = model.device;
  if (!device) {
    const gpuOnly = () => {
      throw new RgError('INTERNAL', 'TokenPicker: GPU sampling on the WASM backend');
    };
    return { encode: gpuOnly, read: async () => gpuOnly(), pickCpu, dispose: () => undefined };
  }
  const out = device.createBuffer({ label: 'sampled token id', size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ label: 'sampled token id readback', size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  return {
    encode(batch, logits, row, step) {
      sample(batch, { logits: bufferOf(logits), out, vocab, row, ...kernelSettings(sampling, step) });
      batch.encoder.copyBufferToBuffer(out, 0, staging, 0, 4);
    },
    async read() {
      await staging.mapAsync(GPUMapMode.READ);
      try {
        return new Uint32Array(staging.getMappedRange(0, 4))[0]!;
      } finally {
        staging.unmap();
      }
    },
    pickCpu,
    dispose() {
      out.destroy();
      staging.destroy();
    },
  };
}
