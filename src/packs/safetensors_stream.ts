/**
 * @file A push reader of safetensors files for streaming loads: the header is parsed from the first bytes (the checks
 * of src/packs/safetensors.ts), then each tensor's bytes go to the sink its consumer names for it as the pieces
 * arrive, cut into whole units (rows) so a consumer converting row by row never sees half a row. Only a partial unit
 * per tensor is copied; everything else is a view of the piece being pushed. The file's length is checked at
 * `finish()`. A `StagingMeter` counts what a load holds on the CPU at once.
 */
import { RgError } from '../errors';
import {
  damagedFile,
  dataEnd,
  headerLength,
  parseHeader,
  sortedTensors,
  type SafeTensorInfo,
  type SafeTensors,
} from './safetensors';

/** The bytes a streaming load holds on the CPU at once (pieces, partial rows, converted blocks), and the most. */
export class StagingMeter {
  current = 0;
  peak = 0;
  /** Pieces read (readSafetensors counts them). */
  pieces = 0;

  hold(n: number): void {
    this.current += n;
    this.peak = Math.max(this.peak, this.current);
  }

  release(n: number): void {
    this.current -= n;
  }

  /** `f()` with `n` more bytes held while it runs. */
  during<T>(n: number, f: () => T): T {
    this.hold(n);
    try {
      return f();
    } finally {
      this.release(n);
    }
  }
}

/** What a streamed load held on the CPU (a loader's `stats`). */
export interface LoadStats {
  /** The most bytes held at once: the piece being read, partial rows, converted row blocks, the header. */
  peakStagingBytes: number;
  /** Pieces the file arrived in. */
  pieces: number;
}

/** Where one tensor's bytes go. */
export interface TensorSink {
  /** Every write is a whole number of these bytes (one row, say); it must divide the tensor's size. */
  unit: number;
  /** Bytes [offset, offset + bytes.byteLength) of the tensor: a view valid only during the call. */
  write(bytes: Uint8Array, offset: number): void;
}

/** The sink of a tensor, or null to skip its bytes. */
export type SinkFor = (t: SafeTensorInfo) => TensorSink | null;

export class SafetensorsStream {
  private readonly first8 = new Uint8Array(8);
  private header: Uint8Array | null = null;
  private filled = 0;
  private st: SafeTensors | null = null;
  private sinkFor: SinkFor | null = null;
  private end = 0;
  private order: SafeTensorInfo[] = [];
  private index = 0;
  /** File offset of the next byte. */
  private at = 0;
  private sink: TensorSink | null | undefined = undefined;
  /** A unit begun in one piece and ended in a later one; `carryAt` is its offset in the tensor. */
  private carry: Uint8Array | null = null;
  private carryFill = 0;
  private carryAt = 0;

  /**
   * @param onHeader called once the header is parsed and checked, before any tensor byte: it may throw (the load
   *   refuses the file) or return the sink of each tensor.
   */
  constructor(
    private readonly what: string,
    private readonly onHeader: (st: SafeTensors) => SinkFor,
    private readonly meter = new StagingMeter(),
  ) {}

  /** The next bytes of the file, in order. */
  push(piece: Uint8Array): void {
    let p = piece;
    while (p.byteLength > 0) p = this.st ? this.data(p) : this.head(p);
  }

  /** The file has ended: throws unless it ended exactly where its header says. */
  finish(): void {
    if (!this.st) damagedFile(this.what, 'the file ends inside its header');
    if (this.at !== this.end) damagedFile(this.what, `data section ends at ${this.end}, file has ${this.at} bytes`);
  }

  private head(p: Uint8Array): Uint8Array {
    const target = this.header ?? this.first8;
    const k = Math.min(p.byteLength, target.byteLength - this.filled);
    target.set(p.subarray(0, k), this.filled);
    this.filled += k;
    this.at += k;
    if (this.filled === target.byteLength) {
      if (!this.header) {
        const n = headerLength(this.first8, this.what);
        this.header = new Uint8Array(n);
        this.meter.hold(n);
        this.filled = 0;
        if (n === 0) this.parse();
      } else {
        this.parse();
      }
    }
    return p.subarray(k);
  }

  private parse(): void {
    const st = parseHeader(this.header!, this.what);
    this.meter.release(this.header!.byteLength);
    this.header = null;
    this.end = dataEnd(st);
    this.order = sortedTensors(st).filter((t) => t.end > t.begin);
    this.sinkFor = this.onHeader(st);
    this.st = st;
  }

  private data(p: Uint8Array): Uint8Array {
    const t = this.order[this.index];
    if (!t) damagedFile(this.what, `data section ends at ${this.end}, the file goes on`);
    if (this.sink === undefined) {
      const sink = this.sinkFor!(t);
      if (sink && (!Number.isInteger(sink.unit) || sink.unit < 1 || (t.end - t.begin) % sink.unit !== 0))
        throw new RgError('INTERNAL', `${this.what}: ${t.name} cannot be read in units of ${sink.unit} bytes`);
      this.sink = sink;
    }
    const k = Math.min(p.byteLength, t.end - this.at);
    if (this.sink) this.deliver(this.sink, p.subarray(0, k), this.at - t.begin);
    this.at += k;
    if (this.at === t.end) {
      if (this.carry) this.meter.release(this.carry.byteLength);
      this.carry = null;
      this.carryFill = 0;
      this.sink = undefined;
      this.index++;
    }
    return p.subarray(k);
  }

  private deliver(sink: TensorSink, bytes: Uint8Array, offset: number): void {
    const u = sink.unit;
    let i = 0;
    if (this.carryFill > 0) {
      i = Math.min(u - this.carryFill, bytes.byteLength);
      this.carry!.set(bytes.subarray(0, i), this.carryFill);
      this.carryFill += i;
      if (this.carryFill < u) return;
      sink.write(this.carry!, this.carryAt);
      this.carryFill = 0;
    }
    const whole = Math.floor((bytes.byteLength - i) / u) * u;
    if (whole > 0) sink.write(bytes.subarray(i, i + whole), offset + i);
    i += whole;
    if (i < bytes.byteLength) {
      if (!this.carry) {
        this.carry = new Uint8Array(u);
        this.meter.hold(u);
      }
      this.carry.set(bytes.subarray(i), 0);
      this.carryFill = bytes.byteLength - i;
      this.carryAt = offset + i;
    }
  }
}

/** Pushes every piece of `pieces` through `reader` (each counted on `meter` while it is read), then finishes. */
export async function readSafetensors(
  pieces: AsyncIterable<Uint8Array>,
  reader: SafetensorsStream,
  meter: StagingMeter,
): Promise<void> {
  for await (const p of pieces) {
    meter.pieces++;
    meter.during(p.byteLength, () => reader.push(p));
  }
  reader.finish();
}
