/**
 * @file The download manager: streams pack files into the weights store chunk by chunk, hashing as the bytes
 * arrive (hash-wasm's incremental SHA-256, whose state is saved with every chunk), and resumes an interrupted file
 * with an HTTP Range request from the first byte not yet stored. A file counts as cached only when its sha256
 * matches the manifest; one that fails is dropped and fetched again alone. Progress is reported per file and for
 * the whole pack, with a rate over the last few seconds and an ETA; an AbortSignal cancels at any moment (the bytes
 * received so far are kept, so the next download resumes).
 */
import { createSHA256, type IHasher } from 'hash-wasm';
import { CancelledError, RgError } from '../errors';
import type { FileEntry, Manifest } from '../packs/manifest';
import { isQuotaError, quotaError } from './storage';
import type { DownloadProgress } from './types';
import type { FileRecord, WeightStore } from './weights';

/** Measures a rate over a sliding window of (time, cumulative bytes) samples. */
export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];
  private total = 0;

  constructor(
    private readonly windowMs = 3000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  add(bytes: number): void {
    this.total += bytes;
    const t = this.now();
    this.samples.push({ t, bytes: this.total });
    while (this.samples.length > 2 && t - this.samples[1]!.t > this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window (0 until two samples at least 50 ms apart exist). */
  rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t - first.t < 50) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }

  get bytes(): number {
    return this.total;
  }
}

/** Adds up per-file progress into the pack's progress and throttles reports. */
export class ProgressTracker {
  private readonly stored = new Map<string, number>();
  private readonly meter: RateMeter;
  private lastEmit = -Infinity;
  private current = { path: '', loaded: 0, total: 0 };
  private filesDone = 0;
  private resumedFrom: number | undefined;

  constructor(
    readonly packId: string,
    private readonly files: readonly FileEntry[],
    private readonly onProgress: ((p: DownloadProgress) => void) | undefined,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.meter = new RateMeter(3000, now);
  }

  get total(): number {
    return this.files.reduce((a, f) => a + f.bytes, 0);
  }

  get loaded(): number {
    let s = 0;
    for (const v of this.stored.values()) s += v;
    return s;
  }

  /** Records what is already stored for a file (before or after a reset). */
  setStored(path: string, bytes: number, done = false): void {
    this.stored.set(path, bytes);
    if (done) this.filesDone++;
  }

  startFile(entry: FileEntry, storedBytes: number, resumedFrom?: number): void {
    this.stored.set(entry.path, storedBytes);
    this.current = { path: entry.path, loaded: storedBytes, total: entry.bytes };
    this.resumedFrom = resumedFrom;
    this.emit(true);
  }

  resumeAt(offset: number): void {
    this.resumedFrom = offset;
  }

  received(path: string, n: number): void {
    const v = (this.stored.get(path) ?? 0) + n;
    this.stored.set(path, v);
    if (path === this.current.path) this.current.loaded = v;
    this.meter.add(n);
    this.emit(false);
  }

  fileDone(entry: FileEntry): void {
    this.stored.set(entry.path, entry.bytes);
    this.filesDone++;
    this.current = { path: entry.path, loaded: entry.bytes, total: entry.bytes };
    this.emit(true);
  }

  snapshot(): DownloadProgress {
    const loaded = this.loaded;
    const total = this.total;
    const rate = this.meter.rate();
    return {
      packId: this.packId,
      file: { ...this.current },
      filesDone: this.filesDone,
      filesTotal: this.files.length,
      loaded,
      total,
      rate,
      eta: rate > 0 ? Math.max(0, (total - loaded) / rate) : loaded >= total ? 0 : null,
      fetched: this.meter.bytes,
      ...(this.resumedFrom !== undefined ? { resumedFrom: this.resumedFrom } : {}),
    };
  }

  emit(force: boolean): void {
    if (!this.onProgress) return;
    const t = this.now();
    if (!force && t - this.lastEmit < this.intervalMs) return;
    this.lastEmit = t;
    this.onProgress(this.snapshot());
  }
}

/** A failure worth another attempt (the connection dropped, a 5xx): the loop retries with a Range request. */
class RetriableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RetriableError';
  }
}

/**
 * The server's copy of a file has another size than the manifest says (seen from Content-Length, Content-Range, a
 * 416 answer or a longer body). Retrying cannot help: the file is dropped and the download stops with INTEGRITY.
 */
class SizeMismatch extends Error {
  constructor(readonly received: string) {
    super(`size mismatch: ${received}`);
  }
}

/** A store write hit the quota: stop at once, keep what is stored. */
class QuotaHit extends Error {
  constructor(cause: unknown) {
    super('quota', { cause });
  }
}

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  fetchFn?: typeof fetch;
  /** Failed attempts in a row (without a byte of progress) before giving up on a file. Default 4. */
  maxRetries?: number;
  /**
   * Requests for one file, all told, before giving up even when each made progress (a server that keeps closing
   * early must not loop forever). Default 16.
   */
  maxAttempts?: number;
  /** First pause before a retry; doubles up to 8×. Default 300 ms. */
  retryDelayMs?: number;
  /** Minimum time between progress reports. Default 100 ms. */
  progressIntervalMs?: number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError('Download cancelled'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError('Download cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Parses `Content-Range: bytes start-end/total`. */
export function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = v?.match(/^bytes (\d+)-(\d+)\/(\d+|\*)$/);
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/**
 * Downloads the files of one pack into a WeightStore. One instance per pack download; `files` may be a subset of
 * the manifest (a re-fetch of the files that failed verification).
 */
export class PackDownloader {
  readonly progress: ProgressTracker;
  private readonly fetchFn: typeof fetch;
  private readonly maxRetries: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;

  /**
   * @param base URL of the pack folder (ending in '/'); file URLs are `new URL(path, base)`.
   */
  constructor(
    private readonly store: WeightStore,
    /** A pack's manifest, or any list of files under one id (a checkpoint staged for conversion). */
    private readonly manifest: Pick<Manifest, 'id' | 'files'>,
    private readonly base: string,
    private readonly opts: DownloadOptions = {},
  ) {
    this.fetchFn = opts.fetchFn ?? ((...a) => fetch(...a));
    this.maxRetries = opts.maxRetries ?? 4;
    this.maxAttempts = opts.maxAttempts ?? 16;
    this.retryDelayMs = opts.retryDelayMs ?? 300;
    this.progress = new ProgressTracker(manifest.id, manifest.files, opts.onProgress, opts.progressIntervalMs ?? 100);
  }

  private get packId(): string {
    return this.manifest.id;
  }

  private checkAbort(): void {
    if (this.opts.signal?.aborted) throw new CancelledError('Download cancelled');
  }

  /** Downloads every file of `files` (default: the whole manifest) that is not cached yet, one after another. */
  async run(files: readonly FileEntry[] = this.manifest.files): Promise<void> {
    const records = new Map((await this.store.fileRecords(this.packId)).map((r) => [r.path, r]));
    for (const f of this.manifest.files) {
      const r = records.get(f.path);
      const matches = r && r.sha256 === f.sha256 && r.bytes === f.bytes;
      this.progress.setStored(f.path, matches ? r.stored : 0, matches && r.state === 'cached');
    }
    this.progress.emit(true);
    for (const entry of files) {
      this.checkAbort();
      await this.file(entry, records.get(entry.path));
    }
  }

  /** Downloads one file until it is cached and verified. A hash failure drops it and fetches it once more. */
  async file(entry: FileEntry, known?: FileRecord): Promise<void> {
    let rec: FileRecord | undefined = known ?? (await this.store.fileRecord(this.packId, entry.path));
    if (rec && (rec.sha256 !== entry.sha256 || rec.bytes !== entry.bytes || rec.stored > entry.bytes)) {
      await this.store.resetFile(this.packId, entry.path);
      rec = undefined;
    }
    if (rec?.state === 'cached') {
      this.progress.setStored(entry.path, entry.bytes);
      return;
    }
    for (let hashAttempt = 0; ; hashAttempt++) {
      rec ??= this.store.newRecord(this.packId, entry);
      this.progress.startFile(entry, rec.stored, rec.stored > 0 ? rec.stored : undefined);
      const done0 = await this.stream(entry, rec, await this.hasherFor(rec));
      rec = done0.rec;
      const got = done0.hasher.digest('hex');
      if (got === entry.sha256) {
        const done: FileRecord = { ...rec, state: 'cached', hashState: undefined, updatedAt: Date.now() };
        await this.store.putRecord(done);
        this.progress.fileDone(entry);
        return;
      }
      await this.store.resetFile(this.packId, entry.path);
      this.progress.setStored(entry.path, 0);
      rec = undefined;
      if (hashAttempt >= 1) {
        throw new RgError(
          'INTEGRITY',
          `${this.packId}/${entry.path} failed its sha256 check twice ` +
            `(got ${got.slice(0, 12)}…, expected ${entry.sha256.slice(0, 12)}…)`,
          {
            hint: 'The server sends a file that does not match the pack manifest. Try again later or report the pack.',
          },
        );
      }
    }
  }

  /**
   * A SHA-256 hasher positioned after `rec.stored` bytes: the state saved with the last committed chunk, or (for a
   * record without one) a re-read of the stored chunks.
   */
  private async hasherFor(rec: FileRecord): Promise<IHasher> {
    const h = await createSHA256();
    h.init();
    if (rec.stored === 0) return h;
    if (rec.hashState) {
      try {
        h.load(rec.hashState);
        return h;
      } catch {
        h.init();
      }
    }
    for (const c of await this.store.readChunks(rec.packId, rec.path)) h.update(c);
    return h;
  }

  /** Attempts until every byte is stored, resuming each time from the stored byte. Returns the final record. */
  private async stream(
    entry: FileEntry,
    rec: FileRecord,
    hasher: IHasher,
  ): Promise<{ rec: FileRecord; hasher: IHasher }> {
    let failures = 0;
    let attempts = 0;
    let lastError: unknown;
    while (rec.stored < entry.bytes) {
      this.checkAbort();
      const before = rec.stored;
      attempts++;
      try {
        rec = await this.attempt(entry, rec, hasher);
      } catch (e) {
        if (e instanceof SizeMismatch) {
          // Nothing of a file of the wrong size is kept: record and chunks go together.
          await this.restart(entry, hasher);
          throw new RgError(
            'INTEGRITY',
            `${this.packId}/${entry.path} is ${e.received} on the server, ` +
              `but the pack manifest says ${entry.bytes} bytes`,
            {
              hint:
                'The server has another version of this file than the manifest lists (an update in progress or a ' +
                'damaged upload). Nothing of it was kept; try again later, or report the pack.',
            },
          );
        }
        if (e instanceof QuotaHit) {
          const kept = (await this.store.fileRecords(this.packId)).reduce((a, r) => a + r.stored, 0);
          throw quotaError(this.packId, entry.path, kept, this.progress.total, e.cause);
        }
        if (this.opts.signal?.aborted) throw new CancelledError('Download cancelled');
        if (!(e instanceof RetriableError)) throw e;
        lastError = e;
        // The attempt committed what arrived (or dropped the file when it had to start over): continue from the index.
        rec = (await this.store.fileRecord(this.packId, entry.path)) ?? this.store.newRecord(this.packId, entry);
        hasher = await this.hasherFor(rec);
        failures = rec.stored > before ? 1 : failures + 1;
        if (failures > this.maxRetries || attempts >= this.maxAttempts) {
          throw new RgError(
            'NETWORK',
            `Downloading ${this.packId}/${entry.path} failed: ${(lastError as Error).message}. ` +
              `${rec.stored} of ${entry.bytes} bytes of this file are kept.`,
            {
              hint: 'Check the connection, then press Resume: the download continues from the last stored byte.',
              cause: lastError,
            },
          );
        }
        await sleep(this.retryDelayMs * 2 ** Math.min(failures - 1, 3), this.opts.signal);
        if (rec.stored > 0) this.progress.resumeAt(rec.stored);
      }
    }
    return { rec, hasher };
  }

  /**
   * One HTTP request from `rec.stored` to the end of the file. Bytes are hashed, buffered to the chunk size and
   * committed (chunk + record, one transaction); when the connection fails or the download is cancelled, the partial
   * chunk is committed too, so the next attempt's Range starts at exactly the first byte not stored.
   */
  private async attempt(entry: FileEntry, rec: FileRecord, hasher: IHasher): Promise<FileRecord> {
    const url = new URL(entry.path, this.base).href;
    const offset = rec.stored;
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        signal: this.opts.signal,
        cache: 'no-store',
        headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
      });
    } catch (e) {
      throw new RetriableError(`could not reach ${url}: ${(e as Error).message}`, e);
    }
    if (offset > 0 && res.status === 206) {
      const cr = parseContentRange(res.headers.get('Content-Range'));
      if (cr && cr.total !== null && cr.total !== entry.bytes) {
        await res.body?.cancel().catch(() => {});
        throw new SizeMismatch(`${cr.total} bytes`);
      }
      if (!cr || cr.start !== offset) {
        await res.body?.cancel().catch(() => {});
        await this.restart(entry, hasher);
        throw new RetriableError(
          `the server answered Range ${offset}- with ${res.headers.get('Content-Range') ?? 'no Content-Range'}; ` +
            'starting the file over',
        );
      }
    } else if (offset > 0 && res.status === 200) {
      // The server ignored the Range header: take the whole file from byte 0.
      await this.restart(entry, hasher);
      rec = this.store.newRecord(this.packId, entry);
    } else if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      const msg = `HTTP ${res.status} for ${url}`;
      if (res.status >= 500 || res.status === 408 || res.status === 429) throw new RetriableError(msg);
      if (res.status === 416) {
        // "Range not satisfiable" for a start below the manifest's size: the server's file is shorter.
        const total = res.headers.get('Content-Range')?.match(/^bytes \*\/(\d+)$/)?.[1];
        if (total === undefined || Number(total) !== entry.bytes) {
          throw new SizeMismatch(total === undefined ? `at most ${offset} bytes` : `${total} bytes`);
        }
        await this.restart(entry, hasher);
        throw new RetriableError(`${msg}; starting the file over`);
      }
      throw new RgError('NETWORK', `Downloading ${this.packId}/${entry.path} failed: ${msg}`, {
        hint: 'The pack is not available at its address. Try again later.',
      });
    }
    if (res.status === 200 || res.status === 206) {
      // Content-Length is the size of what this response carries, when it is not compressed on the wire. Only a
      // same-origin response shows Content-Encoding; on a cross-origin one a compressed length would look like a
      // wrong size, so there the body's own end (and a 416 or Content-Range afterwards) decides instead.
      const length = res.headers.get('Content-Length');
      const encoded = res.type !== 'basic' || (res.headers.get('Content-Encoding') ?? 'identity') !== 'identity';
      const expect = res.status === 200 ? entry.bytes : entry.bytes - offset;
      if (length !== null && !encoded && /^\d+$/.test(length) && Number(length) !== expect) {
        await res.body?.cancel().catch(() => {});
        throw new SizeMismatch(`${res.status === 200 ? Number(length) : Number(length) + offset} bytes`);
      }
    }
    if (!res.body) throw new RetriableError(`empty response body for ${url}`);

    const cs = rec.chunkSize;
    let index = Math.floor(rec.stored / cs);
    let fill = rec.stored - index * cs;
    let buf = new Uint8Array(Math.min(cs, entry.bytes - index * cs));
    if (fill > 0) {
      const prev = await this.store.readChunk(this.packId, entry.path, index);
      if (!prev || prev.byteLength < fill) {
        await this.restart(entry, hasher);
        throw new RetriableError(`stored chunk ${index} of ${entry.path} is missing; starting the file over`);
      }
      buf.set(prev.subarray(0, fill));
    }
    let committed = rec;
    const commit = async (data: Uint8Array, storedAfter: number) => {
      const next: FileRecord = {
        ...committed,
        stored: storedAfter,
        state: 'partial',
        hashState: hasher.save(),
        updatedAt: Date.now(),
      };
      try {
        await this.store.commitChunk(next, index, data);
      } catch (e) {
        if (isQuotaError(e)) throw new QuotaHit(e);
        throw e;
      }
      committed = next;
    };

    const reader = res.body.getReader();
    try {
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          throw new RetriableError(
            `the connection dropped after byte ${index * cs + fill}: ${(e as Error).message}`,
            e,
          );
        }
        if (r.done) break;
        let v = r.value;
        if (index * cs + fill + v.byteLength > entry.bytes) throw new SizeMismatch(`more than ${entry.bytes} bytes`);
        while (v.byteLength > 0) {
          const n = Math.min(buf.byteLength - fill, v.byteLength);
          const part = v.subarray(0, n);
          hasher.update(part);
          buf.set(part, fill);
          fill += n;
          v = v.subarray(n);
          this.progress.received(entry.path, n);
          if (fill === buf.byteLength) {
            await commit(buf, index * cs + fill);
            index++;
            fill = 0;
            buf = new Uint8Array(Math.max(0, Math.min(cs, entry.bytes - index * cs)));
          }
        }
      }
    } catch (e) {
      // Keep what arrived: commit the partial chunk so the next Range request starts at the first missing byte
      // (never for a file of the wrong size, which is dropped whole).
      if (
        !(e instanceof QuotaHit) &&
        !(e instanceof SizeMismatch) &&
        fill > 0 &&
        committed.stored < index * cs + fill
      ) {
        try {
          await commit(buf.slice(0, fill), index * cs + fill);
        } catch (flushErr) {
          if (flushErr instanceof QuotaHit) throw flushErr;
        }
      }
      await reader.cancel().catch(() => {});
      throw e;
    }
    if (fill > 0) await commit(buf.slice(0, fill), index * cs + fill);
    if (committed.stored < entry.bytes)
      throw new RetriableError(`the connection closed after byte ${committed.stored} of ${entry.bytes}`);
    return committed;
  }

  /** Drops a file's stored bytes and resets its hasher (the next attempt starts at byte 0). */
  private async restart(entry: FileEntry, hasher: IHasher): Promise<void> {
    await this.store.resetFile(this.packId, entry.path);
    hasher.init();
    this.progress.setStored(entry.path, 0);
  }
}
