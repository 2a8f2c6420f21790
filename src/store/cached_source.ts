/**
 * @file CachedPackSource: the PackSource the app's pipelines use. A file comes from IndexedDB when it is cached;
 * otherwise it is downloaded through the same resumable, hashing download manager and kept for next time. Every
 * file is checked against the manifest's size and sha256 on every read, so a byte flipped on disk is an
 * RgError('INTEGRITY') or, when the network is allowed, a silent re-fetch of that one file.
 */
import { CancelledError, RgError } from '../errors';
import type { Manifest } from '../packs/manifest';
import { verifyEntry, type FileProgress, type PackSource } from '../packs/source';
import type { PackStore, StoredManifest } from './pack_store';

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

  async file(path: string, onProgress?: (p: FileProgress) => void): Promise<Uint8Array> {
    this.checkCancelled();
    const m = await this.manifest();
    const entry = m.files.find((f) => f.path === path);
    if (!entry) throw new RgError('INTEGRITY', `${this.id} has no file ${path} in its manifest`);
    const w = this.store.weights;
    const isCached = async () => {
      const r = await w.fileRecord(this.id, path);
      return r && r.state === 'cached' && r.sha256 === entry.sha256 && r.bytes === entry.bytes ? r : undefined;
    };
    const fetchIt = async () => {
      if (this.opts.network === false) throw this.notCached(path);
      const signal = this.signal;
      let fetched = false;
      try {
        await this.store.withLock(
          this.id,
          async () => {
            // Another context may have fetched it while this one waited for the lock.
            if (await isCached()) return;
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
      const r = await isCached();
      if (!r) throw new RgError('INTERNAL', `${this.id}/${path} was downloaded but is not in the index`);
      return r;
    };

    let rec = (await isCached()) ?? (await fetchIt());
    let bytes: Uint8Array;
    try {
      bytes = await w.readFile(rec);
      await verifyEntry(this.id, entry, bytes);
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      // Damaged in the cache: drop the file and fetch it again alone.
      await w.resetFile(this.id, path);
      if (this.opts.network === false) {
        throw e instanceof RgError
          ? e
          : new RgError('INTEGRITY', `${this.id}/${path} is damaged in the cache: ${(e as Error).message}`);
      }
      rec = await fetchIt();
      bytes = await w.readFile(rec);
      await verifyEntry(this.id, entry, bytes);
    }
    onProgress?.({ path, loaded: bytes.byteLength, total: entry.bytes });
    return bytes;
  }
}
