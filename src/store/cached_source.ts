/**
 * @file CachedPackSource: the PackSource the app's pipelines use. A file comes from IndexedDB when it is cached;
 * otherwise it is downloaded through the same resumable, hashing download manager and kept for next time. Every
 * file is checked against the manifest's size and sha256 on every read, so a byte flipped on disk is an
 * RgError('INTEGRITY') or, when the network is allowed, a silent re-fetch of that one file. `read` streams a cached
 * file chunk by chunk to a weights loader, with the same checks at its end.
 */
import { CancelledError, RgError } from '../errors';
import type { FileEntry, Manifest } from '../packs/manifest';
import {
  consumeAll,
  verifiedPieces,
  verifyEntry,
  type FileProgress,
  type PackSource,
  type PieceConsumer,
} from '../packs/source';
import type { PackStore, StoredManifest } from './pack_store';
import type { FileRecord } from './weights';

/** What a run or a load says while another tab holds the pack's lock (the `loading` phase's detail). */
export const WAITING_FOR_TAB = 'another tab is downloading this pack; waiting for it (Cancel stops waiting)';

export interface CachedSourceOptions {
  /** Allow fetching what the cache lacks (default true). With false, a missing file is RgError('NETWORK'). */
  network?: boolean;
  /**
   * Cancels what this source is doing: waiting for the pack's lock, fetching the manifest or a file; every read
   * checks it first. A function is asked at each call: a model loaded once and kept (src/models/cache.ts) holds the
   * source of the run that loaded it, and a file it loads later (the vision encoder on first use) must obey the
   * signal of the run in progress then, not that of the first run.
   */
  signal?: AbortSignal | (() => AbortSignal | undefined);
  /**
   * Called with `true` when a file must be fetched but another context (another tab, or the model manager) holds the
   * pack's lock: the source waits for it (cancellable through `signal`), and the caller can say so; called with
   * `false` when the wait is over and the fetch starts.
   */
  onWaitForLock?: (packId: string, waiting: boolean) => void;
}

export class CachedPackSource implements PackSource {
  private manifestPromise: Promise<StoredManifest> | null = null;
  /** Files this source had to fetch from the network (0 when everything came from the cache). */
  fetchedFiles = 0;

  constructor(
    readonly id: string,
    private readonly store: PackStore,
    private readonly opts: CachedSourceOptions = {},
  ) {}

  /** The signal in force now (see CachedSourceOptions.signal). */
  private get signal(): AbortSignal | undefined {
    const s = this.opts.signal;
    return typeof s === 'function' ? s() : s;
  }

  private checkCancelled(): void {
    if (this.signal?.aborted) throw new CancelledError(`Loading ${this.id} was cancelled`);
  }

  private stored(): Promise<StoredManifest> {
    this.manifestPromise ??= this.loadManifest().catch((e) => {
      this.manifestPromise = null;
      throw e;
    });
    return this.manifestPromise;
  }

  private async loadManifest(): Promise<StoredManifest> {
    // The manifest in force: a cached one the app no longer pins is replaced first (PackStore.current), so every
    // file read through this source, also one loaded on first use, is checked against the current manifest.
    this.checkCancelled();
    const signal = this.signal;
    const cached = await this.store.current(this.id, { signal, network: this.opts.network });
    if (cached) return cached;
    if (this.opts.network === false) throw this.notCached('manifest.json');
    return this.store.manifest(this.id, { store: true, signal });
  }

  async manifest(): Promise<Manifest> {
    return (await this.stored()).manifest;
  }

  /** sha256 of the manifest.json this source reads (what run history records with the pack id). */
  async manifestSha256(): Promise<string> {
    return (await this.stored()).sha256;
  }

  private notCached(path: string, cause?: unknown): RgError {
    return new RgError(
      'NETWORK',
      `${this.id}/${path} is not in the cache and could not be downloaded` +
        (cause ? `: ${(cause as Error).message}` : ''),
      {
        hint: 'Connect to the network and download the pack in the model manager.',
        cause,
      },
    );
  }

  private async entryOf(path: string): Promise<{ m: Manifest; entry: FileEntry }> {
    const m = await this.manifest();
    const entry = m.files.find((f) => f.path === path);
    if (!entry) throw new RgError('INTEGRITY', `${this.id} has no file ${path} in its manifest`);
    return { m, entry };
  }

  /** The file's index record when it is cached whole for this manifest entry. */
  private async cachedRecord(entry: FileEntry): Promise<FileRecord | undefined> {
    const r = await this.store.weights.fileRecord(this.id, entry.path);
    return r && r.state === 'cached' && r.sha256 === entry.sha256 && r.bytes === entry.bytes ? r : undefined;
  }

  /** Downloads the file into the cache, under the pack's lock and the signal; returns its record. */
  private async fetchFile(m: Manifest, entry: FileEntry, onProgress?: (p: FileProgress) => void): Promise<FileRecord> {
    const path = entry.path;
    if (this.opts.network === false) throw this.notCached(path);
    const signal = this.signal;
    let fetched = false;
    try {
      await this.store.withLock(
        this.id,
        async () => {
          // Another context may have fetched it while this one waited for the lock.
          if (await this.cachedRecord(entry)) return;
          fetched = true;
          await this.store
            .downloader(m, {
              signal,
              onProgress: (p) => onProgress?.({ path, loaded: p.file.loaded, total: p.file.total }),
            })
            .file(entry);
        },
        {
          signal,
          onWait: () => this.opts.onWaitForLock?.(this.id, true),
          onGranted: () => this.opts.onWaitForLock?.(this.id, false),
        },
      );
    } catch (e) {
      if (e instanceof RgError && e.code !== 'NETWORK') throw e;
      throw this.notCached(path, e);
    }
    if (fetched) this.fetchedFiles++;
    const r = await this.cachedRecord(entry);
    if (!r) throw new RgError('INTERNAL', `${this.id}/${path} was downloaded but is not in the index`);
    return r;
  }

  /** Drops a damaged cached file; unless the network is off (then `damage` is thrown), fetches it again. */
  private async replaceDamaged(
    m: Manifest,
    entry: FileEntry,
    damage: unknown,
    onProgress?: (p: FileProgress) => void,
  ): Promise<FileRecord> {
    await this.store.weights.resetFile(this.id, entry.path);
    if (this.opts.network === false) {
      throw damage instanceof RgError
        ? damage
        : new RgError('INTEGRITY', `${this.id}/${entry.path} is damaged in the cache: ${(damage as Error).message}`);
    }
    return this.fetchFile(m, entry, onProgress);
  }

  async file(path: string, onProgress?: (p: FileProgress) => void): Promise<Uint8Array> {
    this.checkCancelled();
    const { m, entry } = await this.entryOf(path);
    const w = this.store.weights;
    let rec = (await this.cachedRecord(entry)) ?? (await this.fetchFile(m, entry, onProgress));
    let bytes: Uint8Array;
    try {
      bytes = await w.readFile(rec);
      await verifyEntry(this.id, entry, bytes);
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      // Damaged in the cache: drop the file and fetch it again alone.
      rec = await this.replaceDamaged(m, entry, e, onProgress);
      bytes = await w.readFile(rec);
      await verifyEntry(this.id, entry, bytes);
    }
    onProgress?.({ path, loaded: bytes.byteLength, total: entry.bytes });
    return bytes;
  }

  /** The cached chunks of a file one by one (the cancel signal checked before each), checked as they pass. */
  private pieces(rec: FileRecord, entry: FileEntry): AsyncGenerator<Uint8Array, void, undefined> {
    const { id } = this;
    const w = this.store.weights;
    const chunks = async function* (self: CachedPackSource): AsyncGenerator<Uint8Array, void, undefined> {
      const count = Math.ceil(rec.stored / rec.chunkSize);
      for (let i = 0; i < count; i++) {
        self.checkCancelled();
        const want = Math.min(rec.chunkSize, rec.stored - i * rec.chunkSize);
        const c = await w.readChunk(id, rec.path, i);
        if (!c || c.byteLength !== want)
          throw new RgError(
            'INTEGRITY',
            `${id}/${rec.path} is damaged in the cache: chunk ${i} ` +
              (c ? `has ${c.byteLength} bytes, expected ${want}` : 'is missing'),
          );
        yield c;
      }
    };
    return verifiedPieces(id, entry, chunks(this));
  }

  /** Null when the cached file is whole and matches its sha256, else the error that says how it does not. */
  private async cacheDamage(rec: FileRecord, entry: FileEntry): Promise<unknown> {
    try {
      for await (const piece of this.pieces(rec, entry)) void piece;
      return null;
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      return e;
    }
  }

  /**
   * Streams the cached file chunk by chunk (WeightStore.readChunk), never assembling it. A damaged copy (found at
   * the end of the stream, or when `consume` refuses the bytes before the end and a check of the cached copy fails)
   * is dropped and, when the network is allowed, fetched again once; `consume` then runs again from scratch.
   */
  async read<T>(path: string, consume: PieceConsumer<T>, onProgress?: (p: FileProgress) => void): Promise<T> {
    this.checkCancelled();
    const { m, entry } = await this.entryOf(path);
    const what = `${this.id}/${path}`;
    const attempt = async (rec: FileRecord): Promise<{ value: T } | { damage: unknown }> => {
      let damage: unknown = null;
      let ended = false;
      const pieces = this.pieces(rec, entry);
      const tracked = async function* (): AsyncGenerator<Uint8Array, void, undefined> {
        try {
          yield* pieces;
          ended = true;
        } catch (e) {
          if (!(e instanceof CancelledError)) damage = e;
          throw e;
        }
      };
      try {
        const value = await consumeAll(what, tracked(), consume);
        return { value };
      } catch (e) {
        if (e instanceof CancelledError) throw e;
        if (damage) return { damage };
        // The consumer refused the bytes before their end (a damaged header, say): is the cached copy to blame?
        if (!ended && e instanceof RgError && e.code === 'INTEGRITY') {
          const found = await this.cacheDamage(rec, entry);
          if (found) return { damage: found };
        }
        throw e;
      }
    };
    let rec = (await this.cachedRecord(entry)) ?? (await this.fetchFile(m, entry, onProgress));
    let r = await attempt(rec);
    if ('damage' in r) {
      rec = await this.replaceDamaged(m, entry, r.damage, onProgress);
      r = await attempt(rec);
      if ('damage' in r) throw r.damage;
    }
    onProgress?.({ path, loaded: entry.bytes, total: entry.bytes });
    return r.value;
  }
}
