/**
 * @file Choosing each token. On WebGPU the `sample` kernel is encoded into the step's command batch, reading ORT's
 * logits buffer in place; the id lands in an 8-byte buffer that is also the next step's `input_ids` (an int64:
 * the kernel writes the low word, the high word stays 0), and only its 4 bytes are read back, through two staging
 * buffers used in turn so that one step can be read while the next is queued. On WASM the kernel's CPU twin runs
 * on the logits ORT returned. Both pick the same id for the same settings and step.
 */
import { RgError } from '../../errors';
import type { GpuBatch } from '../../gpu/batch';
import { sample } from '../../kernels/sample';
import { sampleRef } from '../../kernels/sample.ref';
import { bufferOf, gpuTensor, type OrtTensor } from '../../runtime/ort';
import type { ReasonerModel } from './model';
import { kernelSettings, type ResolvedSampling } from './sampling';

export interface TokenPicker {
  /** WebGPU: encodes the draw of generation step `step` from row `row` of the logits tensor `[1, rows, vocab]`. */
  encode(batch: GpuBatch, logits: OrtTensor, row: number, step: number): void;
  /** WebGPU: the id drawn at `step` (waits for the GPU; reads back 4 bytes). */
  read(step: number): Promise<number>;
  /** WebGPU: the last drawn id as an int64 `[1, 1]` tensor on the GPU (for embed_tokens), owned by the picker. */
  idTensor(): OrtTensor;
  /** WASM: the id chosen from row `row` of CPU logits. */
  pickCpu(logits: Float32Array, row: number, step: number): number;
  dispose(): void;
}

/** A picker for `model`'s backend with `sampling`'s settings. It owns three small buffers on WebGPU. */
export function createTokenPicker(model: ReasonerModel, sampling: ResolvedSampling): TokenPicker {
  const vocab = model.config.vocab_size;
  const pickCpu = (logits: Float32Array, row: number, step: number) =>
    sampleRef(logits, { vocab, row, ...kernelSettings(sampling, step) });
  const device = model.device;
  if (!device) {
    const gpuOnly = (): never => {
      throw new RgError('INTERNAL', 'TokenPicker: GPU sampling on the WASM backend');
    };
    return { encode: gpuOnly, read: async () => gpuOnly(), idTensor: gpuOnly, pickCpu, dispose: () => undefined };
  }
  // Zero-filled at creation; the kernel only ever writes word 0, so the 8 bytes read as an int64 id.
  const id = device.createBuffer({
    label: 'sampled token id (int64)',
    size: 8,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  const staging = [0, 1].map((k) =>
    device.createBuffer({
      label: `sampled token id readback ${k}`,
      size: 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    }),
  );
  const tensor = gpuTensor(id, [1, 1], 'int64');
  return {
    encode(batch, logits, row, step) {
      sample(batch, { logits: bufferOf(logits), out: id, vocab, row, ...kernelSettings(sampling, step) });
      batch.encoder.copyBufferToBuffer(id, 0, staging[step % 2]!, 0, 4);
    },
    async read(step) {
      const s = staging[step % 2]!;
      await s.mapAsync(GPUMapMode.READ);
      try {
        return new Uint32Array(s.getMappedRange(0, 4))[0]!;
      } finally {
        s.unmap();
      }
    },
    idTensor: () => tensor,
    pickCpu,
    dispose() {
      id.destroy();
      for (const s of staging) s.destroy();
    },
  };
}
