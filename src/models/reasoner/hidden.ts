/**
 * @file The reasoner's conditioning for the painter: the last decoder layer's hidden states — before the final norm
 * (MindOmni; ORT's `pre_norm_hidden_state`), or after it (`last_hidden_state`) for a pack with `condition_hidden:
 * 'post_norm'` — of every prompt position and of every generated token that was fed back, in order:
 * `promptLength + generated − 1` rows, plus one when the run stopped at a row stop (MindOmni's `</answer>`)
 * (docs/formats.md, "Reasoner conditioning"). On WebGPU the rows are gathered on the GPU with copyBufferToBuffer
 * (from the engine's rows, or ORT's output buffers) into one buffer this object owns; on WASM they are a
 * Float32Array.
 */
import { RgError } from '../../errors';

/** Row-major f32 `[rows, hidden]`, on the GPU (WebGPU backend) or the CPU (WASM backend). */
export interface HiddenStates {
  /** The GPU buffer (exactly `rows · hidden · 4` bytes, STORAGE | COPY_SRC | COPY_DST); null on WASM. */
  readonly buffer: GPUBuffer | null;
  /** The CPU copy; null on WebGPU (nothing is read back unless someone calls `read()`). */
  readonly cpu: Float32Array | null;
  /** Prompt rows + one per generated token that was fed back (a row stop included). */
  readonly rows: number;
  /** The reasoner's hidden size (columns). */
  readonly hidden: number;
  /** How many of the rows are the prompt's prefill (the negative condition uses only these). */
  readonly promptRows: number;
  /** Whether `dispose()` has been called. */
  readonly disposed: boolean;
  /** The values on the CPU (a readback on WebGPU: for tests and export, never on the painting path). */
  read(): Promise<Float32Array>;
  /** Destroys the GPU buffer (idempotent). The owner of the result calls this when the painter is done. */
  dispose(): void;
}

const USAGE = GPUBufferUsageFlags();

function GPUBufferUsageFlags(): number {
  // GPUBufferUsage does not exist on a page without WebGPU; the value is only needed on the WebGPU path.
  const u = (globalThis as { GPUBufferUsage?: { STORAGE: number; COPY_SRC: number; COPY_DST: number } }).GPUBufferUsage;
  return u ? u.STORAGE | u.COPY_SRC | u.COPY_DST : 0;
}

/**
 * Gathers hidden-state rows while generation runs. On WebGPU `appendGpu` encodes a copy from a GPU buffer (the
 * engine's rows, or ORT's condition output) into a buffer sized for the longest possible run; `finish` trims
 * it to the exact row count (one GPU copy) and hands ownership to the returned HiddenStates. `abort` frees everything
 * (cancel, error).
 */
export class HiddenCollector {
  private rows = 0;
  private gpu: GPUBuffer | null = null;
  private cpuParts: Float32Array[] = [];
  private done = false;

  constructor(
    readonly hidden: number,
    private readonly capacityRows: number,
    private readonly device: GPUDevice | null,
  ) {
    if (device) {
      this.gpu = device.createBuffer({
        label: 'reasoner hidden states (growing)',
        size: Math.max(4, capacityRows * hidden * 4),
        usage: USAGE,
      });
    }
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Encodes a copy of the first `n` rows of `src` (a GPU buffer) after the rows gathered so far. */
  appendGpu(encoder: GPUCommandEncoder, src: GPUBuffer, n: number): void {
    if (!this.gpu) throw new RgError('INTERNAL', 'HiddenCollector: appendGpu on a CPU collector');
    if (this.rows + n > this.capacityRows)
      throw new RgError('INTERNAL', `HiddenCollector: ${this.rows + n} rows exceed ${this.capacityRows}`);
    const bytes = n * this.hidden * 4;
    encoder.copyBufferToBuffer(src, 0, this.gpu, this.rows * this.hidden * 4, bytes);
    this.rows += n;
  }

  /** Takes back the last `n` rows appended (a speculative step that turned out not to be needed). */
  dropLast(n: number): void {
    if (n > this.rows) throw new RgError('INTERNAL', `HiddenCollector: cannot drop ${n} of ${this.rows} rows`);
    if (!this.gpu) {
      let left = n;
      while (left > 0) {
        const last = this.cpuParts.pop()!;
        const r = last.length / this.hidden;
        if (r > left) this.cpuParts.push(last.slice(0, (r - left) * this.hidden));
        left -= Math.min(r, left);
      }
    }
    this.rows -= n;
  }

  /** Appends `n` rows held on the CPU (copied). */
  appendCpu(values: Float32Array, n: number): void {
    this.cpuParts.push(values.slice(0, n * this.hidden));
    this.rows += n;
  }

  /** The gathered rows as a HiddenStates the caller owns. */
  finish(promptRows: number): HiddenStates {
    if (this.done) throw new RgError('INTERNAL', 'HiddenCollector: finished twice');
    this.done = true;
    const { rows, hidden } = this;
    if (this.device && this.gpu) {
      let buffer = this.gpu;
      this.gpu = null;
      const exact = rows * hidden * 4;
      if (buffer.size !== Math.max(4, exact)) {
        const trimmed = this.device.createBuffer({
          label: 'reasoner hidden states',
          size: Math.max(4, exact),
          usage: USAGE,
        });
        const enc = this.device.createCommandEncoder({ label: 'hidden states trim' });
        if (exact > 0) enc.copyBufferToBuffer(buffer, 0, trimmed, 0, exact);
        this.device.queue.submit([enc.finish()]);
        buffer.destroy();
        buffer = trimmed;
      }
      return gpuHiddenStates(this.device, buffer, rows, hidden, promptRows);
    }
    const cpu = new Float32Array(rows * hidden);
    let o = 0;
    for (const p of this.cpuParts) {
      cpu.set(p, o);
      o += p.length;
    }
    this.cpuParts = [];
    return cpuHiddenStates(cpu, rows, hidden, promptRows);
  }

  /** Frees what was gathered (cancel or error). */
  abort(): void {
    this.done = true;
    this.gpu?.destroy();
    this.gpu = null;
    this.cpuParts = [];
  }
}

function gpuHiddenStates(
  device: GPUDevice,
  buf: GPUBuffer,
  rows: number,
  hidden: number,
  promptRows: number,
): HiddenStates {
  let buffer: GPUBuffer | null = buf;
  return {
    get buffer() {
      return buffer;
    },
    cpu: null,
    rows,
    hidden,
    promptRows,
    get disposed() {
      return buffer === null;
    },
    async read() {
      if (!buffer) throw new RgError('INTERNAL', 'hidden states read after dispose()');
      const n = rows * hidden;
      const staging = device.createBuffer({
        label: 'hidden states readback',
        size: Math.max(4, n * 4),
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      try {
        const enc = device.createCommandEncoder({ label: 'hidden states readback' });
        if (n > 0) enc.copyBufferToBuffer(buffer, 0, staging, 0, n * 4);
        device.queue.submit([enc.finish()]);
        await staging.mapAsync(GPUMapMode.READ);
        return new Float32Array(staging.getMappedRange().slice(0, n * 4));
      } finally {
        staging.destroy();
      }
    },
    dispose() {
      buffer?.destroy();
      buffer = null;
    },
  };
}

function cpuHiddenStates(values: Float32Array, rows: number, hidden: number, promptRows: number): HiddenStates {
  let cpu: Float32Array | null = values;
  return {
    buffer: null,
    get cpu() {
      return cpu;
    },
    rows,
    hidden,
    promptRows,
    get disposed() {
      return cpu === null;
    },
    async read() {
      if (!cpu) throw new RgError('INTERNAL', 'hidden states read after dispose()');
      return cpu.slice();
    },
    dispose() {
      cpu = null;
    },
  };
}
