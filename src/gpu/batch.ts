/**
 * @file GpuBatch: one command encoder plus the short-lived buffers (uniforms, scratch) its passes need.
 *
 * Kernels take a batch and encode into it; the caller submits once. Transient buffers belong to the batch and are
 * destroyed right after submit (WebGPU keeps them alive for the work already queued), so nothing leaks per call.
 *
 * Uniforms are slices of a few mapped-at-creation arenas (4 KiB, then doubling up to 64 KiB), unmapped at submit:
 * a decode step of a 24-layer model binds about 300 uniforms, and one buffer each cost more CPU time than the GPU
 * spent on the step (measured on an H200 with Dawn: ≈ 25 ms of createBuffer and ≈ 20 ms of submit-time destroys
 * per token; docs/benchmarks.md, "Native harness").
 */
import { cachedPipeline, shaderModule } from './pipeline_cache';

export type Workgroups = [number, number?, number?];

/** Each pipeline's group-0 layout, asked for once (each getBindGroupLayout call makes a new object). */
const layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();

function layoutOf(pipeline: GPUComputePipeline): GPUBindGroupLayout {
  let l = layouts.get(pipeline);
  if (!l) {
    l = pipeline.getBindGroupLayout(0);
    layouts.set(pipeline, l);
  }
  return l;
}

/** What a binding of `dispatch` takes: a whole buffer, or a range of one (a uniform's slice of an arena). */
export type BindingBuffer = GPUBuffer | GPUBufferBinding;

/** A uniform arena's first size and its largest (the uniform binding limit WebGPU guarantees). */
const ARENA_FIRST = 4096;
const ARENA_MAX = 65536;

interface Arena {
  buffer: GPUBuffer;
  bytes: Uint8Array;
  used: number;
}

export class GpuBatch {
  private readonly raw: GPUCommandEncoder;
  /** The compute pass the dispatches go into, open until the encoder is needed for a copy, or submit. */
  private pass: GPUComputePassEncoder | null = null;
  private transient: GPUBuffer[] = [];
  private arenas: Arena[] = [];
  private submitted = false;

  constructor(
    readonly device: GPUDevice,
    private readonly label = 'batch',
  ) {
    this.raw = device.createCommandEncoder({ label });
  }

  /**
   * The command encoder, for copies and clears between dispatches: the open compute pass ends first, so what the
   * encoder records comes after the dispatches before it and before those after it.
   */
  get encoder(): GPUCommandEncoder {
    this.endPass();
    return this.raw;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** A uniform holding `data`: a slice of one of this batch's arenas, which are destroyed after submit. */
  uniform(data: ArrayBuffer | ArrayBufferView, label = 'uniforms'): GPUBufferBinding {
    if (this.submitted) throw new Error('GpuBatch: a uniform after submit');
    const bytes =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    const align = Math.max(16, this.device.limits.minUniformBufferOffsetAlignment);
    let arena = this.arenas[this.arenas.length - 1];
    if (!arena || arena.used + size > arena.bytes.byteLength) {
      const last = arena?.bytes.byteLength ?? ARENA_FIRST / 2;
      const cap = Math.max(size, Math.min(ARENA_MAX, last * 2));
      const buffer = this.device.createBuffer({
        label,
        size: cap,
        usage: GPUBufferUsage.UNIFORM,
        mappedAtCreation: true,
      });
      arena = { buffer, bytes: new Uint8Array(buffer.getMappedRange()), used: 0 };
      this.arenas.push(arena);
      this.transient.push(buffer);
    }
    const offset = arena.used;
    arena.bytes.set(bytes, offset);
    arena.used = Math.ceil((offset + size) / align) * align;
    return { buffer: arena.buffer, offset, size };
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
   * Encodes one dispatch of `pipeline` with group 0 bound to `buffers` in binding order, over `workgroups`, into the
   * batch's open compute pass (consecutive dispatches share one pass: each dispatch is its own usage scope, so
   * WebGPU orders their reads and writes as if each had its own pass). Throws when a dimension exceeds the device's
   * limit.
   */
  dispatch(
    pipeline: GPUComputePipeline,
    buffers: readonly BindingBuffer[],
    workgroups: Workgroups,
    label = pipeline.label,
  ): void {
    const [x, y = 1, z = 1] = workgroups;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max)
      throw new Error(`${label}: dispatch ${x}x${y}x${z} exceeds ${max} workgroups per dimension`);
    if (x === 0 || y === 0 || z === 0) return;
    if (this.submitted) throw new Error(`GpuBatch: ${label} dispatched after submit`);
    const bindGroup = this.device.createBindGroup({
      label,
      layout: layoutOf(pipeline),
      entries: buffers.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })),
    });
    this.pass ??= this.raw.beginComputePass({ label: this.label });
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
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
    for (const a of this.arenas) a.buffer.unmap();
    this.arenas = [];
    this.endPass();
    this.device.queue.submit([this.raw.finish()]);
    for (const b of this.transient) b.destroy();
    this.transient = [];
  }
}
