/**
 * @file PackStore: the weights store as the rest of the app sees it. It knows where each pack comes from (a URL
 * base), keeps the manifest of every pack it caches, answers "what is cached, partial or absent" per file and per
 * pack, downloads (after checking the storage estimate), verifies (re-hashing every cached file; a file that fails
 * is dropped and fetched again alone), deletes, and hands out CachedPackSource for the loaders.
 *
 * Pack operations that write take a Web Lock named after the database and the pack, so two tabs (or the page and a
 * worker) never download the same pack at once; the second one is refused with a clear message.
 */
import { createSHA256 } from 'hash-wasm';
import { CancelledError, RgError } from '../errors';
import { parseManifest, type FileEntry, type Manifest } from '../packs/manifest';
import { CachedPackSource, type CachedSourceOptions } from './cached_source';
import { PackDownloader, type DownloadOptions } from './download';
import { ensureRoom, type EstimateFn } from './storage';
import type { DownloadProgress, FileStatus, PackState, VerifyReport } from './types';
import { WeightStore, type FileRecord } from './weights';

export interface StoredManifest {
  manifest: Manifest;
  /** sha256 of the manifest.json bytes. */
  sha256: string;
  bytes: Uint8Array;
}

/** What replacing a cached manifest by the one the app now pins changed (the model manager says "updated"). */
export interface ManifestUpdate {
  /** sha256 of the manifest that was in force, and of the one now in force. */
  from: string;
  to: string;
  /** Stored files dropped because the new manifest changed (or no longer lists) them. */
  dropped: string[];
}

export interface PackIndex {
  state: PackState;
  storedBytes: number;
  totalBytes: number;
  files: FileStatus[];
}

export interface PackStoreOptions {
  weights?: WeightStore;
  /** URL of a pack's folder, ending in '/'. */
  baseFor: (packId: string) => string;
  /** The pinned sha256 of a pack's manifest.json, when the registry pins one. */
  pinnedManifest?: (packId: string) => string | undefined;
  fetchFn?: typeof fetch;
  estimate?: EstimateFn;
  /**
   * Checked with the manifest before a download writes or fetches anything else: throws to refuse the pack (the
   * worker passes the memory plan, src/models/plan.ts).
   */
  admit?: (manifest: Manifest) => unknown;
  /** Retry settings for downloads (tests shorten the pauses). */
  download?: Pick<DownloadOptions, 'maxRetries' | 'retryDelayMs' | 'progressIntervalMs'>;
}

/** How `withLock` waits for a lock held elsewhere. */
export interface LockWait {
  /** Stops waiting (CANCELLED) when it aborts. */
  signal?: AbortSignal;
  /** Called once when the lock is held elsewhere and the call starts to wait. */
  onWait?: () => void;
  /** Called when the lock is granted after a wait (the other context is done). */
  onGranted?: () => void;
}

function cancelledWaiting(packId: string): CancelledError {
  return new CancelledError(`Cancelled while waiting for another tab to finish with ${packId}`);
}

export interface OperationOptions {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const h = await createSHA256();
  h.init();
  h.update(bytes);
  return h.digest('hex');
}

export class PackStore {
  readonly weights: WeightStore;
  private readonly fetchFn: typeof fetch;
  private readonly updates = new Map<string, ManifestUpdate>();

  constructor(private readonly opts: PackStoreOptions) {
    this.weights = opts.weights ?? new WeightStore();
    this.fetchFn = opts.fetchFn ?? ((...a) => fetch(...a));
  }

  baseFor(packId: string): string {
    return this.opts.baseFor(packId);
  }

  /** The manifest the cache holds for a pack, parsed; undefined when the pack was never started. */
  async cachedManifest(packId: string): Promise<StoredManifest | undefined> {
    const rec = await this.weights.manifest(packId);
    if (!rec) return undefined;
    const manifest = parseManifest(JSON.parse(new TextDecoder().decode(rec.bytes)));
    return { manifest, sha256: rec.sha256, bytes: rec.bytes };
  }

  /**
   * The manifest in force for a pack (undefined when none is cached). When the registry pins a sha256 other than the
   * cached manifest's (the app was updated and ships another version of the pack), the pinned manifest is fetched
   * and checked, every stored file whose path, size and sha256 it still lists is kept, the others are dropped, and
   * the new manifest replaces the old one; `lastUpdate` then says what changed. While that cannot happen (offline,
   * `network: false`, or another tab holds the pack's lock), the cached manifest stays in force.
   * `locked`: the caller already holds the pack's lock.
   */
  async current(
    packId: string,
    opts: { signal?: AbortSignal; network?: boolean; locked?: boolean } = {},
  ): Promise<StoredManifest | undefined> {
    const cached = await this.cachedManifest(packId);
    const pinned = this.opts.pinnedManifest?.(packId);
    if (!cached || !pinned || cached.sha256 === pinned || opts.network === false) return cached;
    const replace = () => this.replaceManifest(packId, pinned, opts.signal);
    try {
      return opts.locked ? await replace() : await this.withLock(packId, replace);
    } catch (e) {
      // Offline, or the pack is busy in another context: keep what is cached (consistent with its files) for now.
      if (e instanceof RgError && (e.code === 'NETWORK' || e.code === 'BAD_INPUT')) return cached;
      throw e;
    }
  }

  /** What the last manifest replacement of this pack changed (in this context), if any. */
  lastUpdate(packId: string): ManifestUpdate | undefined {
    return this.updates.get(packId);
  }

  private async replaceManifest(packId: string, pinned: string, signal?: AbortSignal): Promise<StoredManifest> {
    const old = await this.cachedManifest(packId);
    if (old?.sha256 === pinned) return old; // another context did it meanwhile
    const next = await this.fetchManifest(packId, signal);
    const listed = new Map(next.manifest.files.map((f) => [f.path, f]));
    const dropped: string[] = [];
    for (const r of await this.weights.fileRecords(packId)) {
      const f = listed.get(r.path);
      if (f && f.sha256 === r.sha256 && f.bytes === r.bytes) continue;
      await this.weights.resetFile(packId, r.path);
      dropped.push(r.path);
    }
    await this.weights.putManifest({ packId, bytes: next.bytes, sha256: next.sha256, storedAt: Date.now() });
    this.updates.set(packId, { from: old?.sha256 ?? '', to: next.sha256, dropped: dropped.sort() });
    return next;
  }

  /** Fetches and validates a pack's manifest from its base (does not store it). */
  async fetchManifest(packId: string, signal?: AbortSignal): Promise<StoredManifest> {
    const url = new URL('manifest.json', this.baseFor(packId)).href;
    let res: Response;
    try {
      res = await this.fetchFn(url, { signal, cache: 'no-store' });
    } catch (e) {
      if (signal?.aborted) throw new CancelledError(`Loading the manifest of ${packId} was cancelled`);
      throw new RgError('NETWORK', `Could not fetch the manifest of ${packId}: ${(e as Error).message}`, {
        cause: e,
        hint: 'Check the connection and try again.',
      });
    }
    if (!res.ok) throw new RgError('NETWORK', `Fetching the manifest of ${packId} failed: HTTP ${res.status}`);
    const bytes = new Uint8Array(
      await res.arrayBuffer().catch((e: unknown) => {
        if (signal?.aborted) throw new CancelledError(`Loading the manifest of ${packId} was cancelled`);
        throw e;
      }),
    );
    const sha256 = await sha256Hex(bytes);
    const pinned = this.opts.pinnedManifest?.(packId);
    if (pinned && pinned !== sha256) {
      throw new RgError(
        'INTEGRITY',
        `The manifest of ${packId} does not match the pinned sha256 ` +
          `(got ${sha256.slice(0, 12)}…, expected ${pinned.slice(0, 12)}…)`,
        {
          hint:
            'A shipped pack: reload the app. A pack added from a URL: its server now holds another version; ' +
            'remove the pack in the Model manager and add it again to accept it.',
        },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new RgError('INTEGRITY', `The manifest of ${packId} is not valid JSON: ${(e as Error).message}`);
    }
    const manifest = parseManifest(json);
    if (manifest.id !== packId)
      throw new RgError('INTEGRITY', `The manifest at ${url} is for pack ${manifest.id}, not ${packId}`);
    return { manifest, sha256, bytes };
  }

  /** The cached manifest, or the one on the network (stored when `store` is set). */
  async manifest(packId: string, opts: { store?: boolean; signal?: AbortSignal } = {}): Promise<StoredManifest> {
    const cached = await this.current(packId, { signal: opts.signal });
    if (cached) return cached;
    const fetched = await this.fetchManifest(packId, opts.signal);
    if (opts.store)
      await this.weights.putManifest({ packId, bytes: fetched.bytes, sha256: fetched.sha256, storedAt: Date.now() });
    return fetched;
  }

  /** The index of a pack: each file cached / partial / absent, and the pack's state. */
  async index(packId: string, manifest: Manifest): Promise<PackIndex> {
    const records = new Map((await this.weights.fileRecords(packId)).map((r) => [r.path, r]));
    const files: FileStatus[] = manifest.files.map((f) => {
      const r = records.get(f.path);
      if (!r || r.sha256 !== f.sha256 || r.bytes !== f.bytes)
        return { path: f.path, bytes: f.bytes, stored: 0, state: 'absent' };
      return {
        path: f.path,
        bytes: f.bytes,
        stored: r.stored,
        state: r.state === 'cached' ? 'cached' : r.stored > 0 ? 'partial' : 'absent',
      };
    });
    const storedBytes = files.reduce((a, f) => a + f.stored, 0);
    const state: PackState = files.every((f) => f.state === 'cached')
      ? 'cached'
      : storedBytes > 0 || files.some((f) => f.state === 'cached')
        ? 'partial'
        : 'absent';
    return { state, storedBytes, totalBytes: manifest.total_bytes, files };
  }

  /**
   * Runs `fn` holding this pack's write lock. Without `wait` it refuses at once when another context holds the lock.
   * With `wait`, `onWait` is called once when the lock is taken elsewhere (another tab downloading the pack) and the
   * wait ends with CANCELLED as soon as `signal` aborts; `fn` never starts then. `busy`: the refusal to throw instead
   * of the download's (for a lock that is not a pack's, e.g. the one conversion from the Hub).
   */
  async withLock<T>(
    packId: string,
    fn: () => Promise<T>,
    wait: boolean | LockWait = false,
    busy?: () => RgError,
  ): Promise<T> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    const w: LockWait | null = wait === true ? {} : wait || null;
    if (w?.signal?.aborted) throw cancelledWaiting(packId);
    if (!locks) return fn();
    const name = `rg-store:${this.weights.dbName}:${packId}`;
    const now = await locks.request(name, { mode: 'exclusive', ifAvailable: true }, async (lock) =>
      lock ? { value: await fn() } : null,
    );
    if (now) return now.value;
    if (!w) {
      if (busy) throw busy();
      throw new RgError('BAD_INPUT', `${packId} is already being downloaded or verified (in this or another tab).`, {
        hint: 'Wait for that to finish, or cancel it there.',
      });
    }
    w.onWait?.();
    let started = false;
    try {
      return await locks.request(name, { mode: 'exclusive', ...(w.signal ? { signal: w.signal } : {}) }, () => {
        started = true;
        w.onGranted?.();
        return fn();
      });
    } catch (e) {
      if (!started && w.signal?.aborted) throw cancelledWaiting(packId);
      throw e;
    }
  }

  /**
   * Downloads every file of the pack that is not cached yet, resuming partial files. Before anything is written,
   * the bytes still missing are checked against the storage estimate (RgError('QUOTA') with the numbers when they
   * cannot fit). A QuotaExceededError mid-download keeps what is stored (see PARTIAL_POLICY).
   */
  async download(packId: string, opts: OperationOptions = {}): Promise<PackIndex> {
    return this.withLock(packId, async () => {
      const cached = await this.current(packId, { signal: opts.signal, locked: true });
      const m = cached ?? (await this.fetchManifest(packId, opts.signal));
      await this.opts.admit?.(m.manifest);
      const before = await this.index(packId, m.manifest);
      await ensureRoom(packId, m.manifest.total_bytes - before.storedBytes, this.opts.estimate);
      if (!cached) await this.weights.putManifest({ packId, bytes: m.bytes, sha256: m.sha256, storedAt: Date.now() });
      const todo = m.manifest.files.filter((f, i) => before.files[i]!.state !== 'cached');
      await this.downloader(m.manifest, opts).run(todo);
      return this.index(packId, m.manifest);
    });
  }

  downloader(manifest: Manifest, opts: OperationOptions = {}): PackDownloader {
    return new PackDownloader(this.weights, manifest, this.baseFor(manifest.id), {
      ...this.opts.download,
      fetchFn: this.fetchFn,
      signal: opts.signal,
      onProgress: opts.onProgress,
    });
  }

  /** sha256 of a stored file, read chunk by chunk (never the whole file at once); null when chunks are missing. */
  async hashStored(rec: FileRecord, signal?: AbortSignal): Promise<string | null> {
    const h = await createSHA256();
    h.init();
    let n = 0;
    for (let i = 0; n < rec.stored; i++) {
      if (signal?.aborted) throw new CancelledError('Verification cancelled');
      const c = await this.weights.readChunk(rec.packId, rec.path, i);
      if (!c || c.byteLength === 0) return null;
      h.update(c);
      n += c.byteLength;
    }
    return n === rec.stored ? h.digest('hex') : null;
  }

  /**
   * Re-hashes every cached file of the pack against the manifest. A file that fails is dropped and, unless
   * `refetch` is false, fetched again alone (the others are not touched).
   */
  async verify(
    packId: string,
    opts: OperationOptions & { refetch?: boolean; onFile?: (path: string, done: number, total: number) => void } = {},
  ): Promise<VerifyReport & { refetchError?: string }> {
    return this.withLock(packId, async () => {
      const t0 = performance.now();
      const m = await this.current(packId, { signal: opts.signal, locked: true });
      if (!m) return { packId, checked: 0, failed: [], refetched: [], ms: 0 };
      const records = new Map((await this.weights.fileRecords(packId)).map((r) => [r.path, r]));
      const failed: FileEntry[] = [];
      let checked = 0;
      const files = m.manifest.files;
      for (let i = 0; i < files.length; i++) {
        const f = files[i]!;
        if (opts.signal?.aborted) throw new CancelledError('Verification cancelled');
        opts.onFile?.(f.path, i, files.length);
        const r = records.get(f.path);
        if (!r || r.state !== 'cached' || r.sha256 !== f.sha256) continue;
        checked++;
        const got = r.stored === f.bytes ? await this.hashStored(r, opts.signal) : null;
        if (got !== f.sha256) {
          failed.push(f);
          await this.weights.resetFile(packId, f.path);
        }
      }
      opts.onFile?.('', files.length, files.length);
      const refetched: string[] = [];
      let refetchError: string | undefined;
      if (failed.length && opts.refetch !== false) {
        const d = this.downloader(m.manifest, opts);
        try {
          for (const f of failed) {
            await d.file(f);
            refetched.push(f.path);
          }
        } catch (e) {
          refetchError = (e as Error).message;
        }
      }
      return {
        packId,
        checked,
        failed: failed.map((f) => f.path),
        refetched,
        ms: performance.now() - t0,
        ...(refetchError ? { refetchError } : {}),
      };
    });
  }

  /** Removes everything of a pack from the store. */
  async delete(packId: string): Promise<void> {
    await this.withLock(packId, () => this.weights.deletePack(packId));
  }

  /** The PackSource the loaders use for this pack: reads from the cache, fetching (and caching) what is missing. */
  source(packId: string, opts: CachedSourceOptions = {}): CachedPackSource {
    return new CachedPackSource(packId, this, opts);
  }
}
