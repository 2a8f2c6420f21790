/**
 * @file GpuBatch: one command encoder plus the short-lived buffers (uniforms, scratch) its passes need.
 *
 * Kernels take a batch and encode into it; the caller submits once. Transient buffers belong to the batch and are
 * destroyed right after submit (WebGPU keeps them alive for the work already queued), so nothing leaks per call.
 */
import { cachedPipeline, shaderModule } from './pipeline_cache';

export type Workgroups = [number, number?, number?];

export class GpuBatch {
  readonly encoder: GPUCommandEncoder;
  private transient: GPUBuffer[] = [];
  private submitted = false;

  constructor(
    readonly device: GPUDevice,
    label = 'batch',
  ) {
    this.encoder = device.createCommandEncoder({ label });
  }

  /** A uniform buffer holding `data`, destroyed after submit. */
  uniform(data: ArrayBuffer | ArrayBufferView, label = 'uniforms'): GPUBuffer {
    const bytes =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    const buf = this.device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint8Array(buf.getMappedRange()).set(bytes);
    buf.unmap();
    this.transient.push(buf);
    return buf;
  }

  /** A storage buffer of `size` bytes that lives until submit. */
  scratch(size: number, label = 'scratch', extraUsage = 0): GPUBuffer {
    const buf = this.device.createBuffer({
      label,
      size: Math.max(4, Math.ceil(size / 4) * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
    });
    this.transient.push(buf);
    return buf;
  }

  /**
   * Encodes one compute pass: `pipeline` with group 0 bound to `buffers` in binding order, dispatched over
   * `workgroups`. Throws when a dimension exceeds the device's limit.
   */
  dispatch(pipeline: GPUComputePipeline, buffers: GPUBuffer[], workgroups: Workgroups, label = pipeline.label): void {
    const [x, y = 1, z = 1] = workgroups;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max)
      throw new Error(`${label}: dispatch ${x}x${y}x${z} exceeds ${max} workgroups per dimension`);
    if (x === 0 || y === 0 || z === 0) return;
    const bindGroup = this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = this.encoder.beginComputePass({ label });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
  }

  /** A pipeline for `code` with entry point `entryPoint` (default `main`), cached under `key` (which names it). */
  pipeline(key: string, code: string, constants?: Record<string, number>, entryPoint = 'main'): GPUComputePipeline {
    return cachedPipeline(this.device, key, () => ({
      label: key,
      layout: 'auto',
      compute: { module: shaderModule(this.device, key.split(':')[0] ?? key, code), entryPoint, constants },
    }));
  }

  /** Finishes the encoder, submits it, and destroys this batch's transient buffers. */
  submit(): void {
    if (this.submitted) throw new Error('GpuBatch submitted twice');
    this.submitted = true;
    this.device.queue.submit([this.encoder.finish()]);
    for (const b of this.transient) b.destroy();
    this.transient = [];
  }
}
