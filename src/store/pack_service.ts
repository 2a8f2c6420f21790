/**
 * @file The weights store's methods on the worker API (spread into the worker's RgApi object).
 *
 * Where the store runs: in the WORKER. The pipelines run there and read every pack file through CachedPackSource,
 * so the worker must own the store anyway; keeping downloads there too makes it the single writer of the weights
 * database in this tab, and keeps hundreds of MB of streaming, SHA-256 hashing and IndexedDB writes off the page's
 * main thread. The page calls these methods through Comlink and gets progress through a `proxy()` callback
 * (StoreEvent); a cancel is a separate call, since an AbortSignal cannot cross the worker boundary (the worker holds
 * the AbortController). Two things stay in the page: `navigator.storage.persist()`, which workers cannot call, and
 * run history, which is small, page-facing, and works the same from either side (src/store/history.ts).
 * Another tab is kept out by the Web Lock PackStore takes per pack; a load that needs a file while another tab holds
 * it waits, says so (a `waiting` event), and `packCancel` stops the wait.
 */
import { CancelledError, RgError } from '../errors';
import type { Manifest } from '../packs/manifest';
import { allPacks, findPack, packFileUrl, type PackEntry } from '../packs/registry';
import { AddedPacks, folderFetch, idbAddedPackStorage, isConvertedPack, isFolderPack } from './added_packs';
import { WAITING_FOR_TAB, type CachedSourceOptions } from './cached_source';
import { PackStore } from './pack_store';
import { storageInfo, type StorageInfo } from './storage';
import type { PackManifest, PackReady, PackStatus, StoreEvent, StoreEventSink, VerifyReport } from './types';

let store: PackStore | null = null;
let added: AddedPacks | null = null;

/** The packs added from a URL (IndexedDB), mirrored into the registry; every entry point awaits it first. */
export function addedPacks(): AddedPacks {
  added ??= new AddedPacks(idbAddedPackStorage());
  return added;
}

/** Resolves once the packs added from a URL are known to the registry (so `findPack` sees them). */
export async function packsReady(): Promise<void> {
  await addedPacks().list();
}
let admission: (manifest: Manifest) => unknown = () => undefined;

/** Sets the check a download runs on the manifest before fetching anything else (the worker: the memory plan). */
export function setPackAdmission(admit: (manifest: Manifest) => unknown): void {
  admission = admit;
}

/** Runs the admission check (the memory plan) on a manifest: throws when the pack cannot run here. */
export function admitManifest(manifest: Manifest): unknown {
  return admission(manifest);
}

/** The app's PackStore: packs come from the app's own origin, under its base URL. */
export function packStore(): PackStore {
  store ??= new PackStore({
    baseFor: (id) =>
      new URL(packFileUrl(requirePack(id), '', import.meta.env.BASE_URL), globalThis.location.origin).href,
    pinnedManifest: (id) => findPack(id)?.manifestSha256,
    admit: (m) => admission(m),
  });
  return store;
}

/** The PackSource a pipeline uses for `packId`: cached files from IndexedDB, the rest fetched and kept. */
export function cachedPack(packId: string, opts: CachedSourceOptions = {}) {
  requirePack(packId);
  return packStore().source(packId, opts);
}

function requirePack(id: string): PackEntry {
  const p = findPack(id);
  if (!p) throw new RgError('BAD_INPUT', `There is no pack called ${id}`, { field: 'pack' });
  return p;
}

/** A file of a folder picked on this computer: its path inside the folder and its bytes. */
export interface FolderFile {
  path: string;
  file: Blob;
}

const running = new Map<string, AbortController>();
/** Loads in progress (`packLoad`), which `packCancel` stops too. */
const loads = new Map<string, AbortController>();

/** Sends an event to the page's proxied sink without letting a closed page fail the operation. */
export function emit(sink: StoreEventSink | undefined, e: StoreEvent): void {
  if (sink) void Promise.resolve(sink(e)).catch(() => {});
}

/** What the Model manager shows of pack `id` (its entry, manifest and stored files). */
export async function packStatus(id: string): Promise<PackStatus> {
  return status(requirePack(id));
}

async function status(p: PackEntry): Promise<PackStatus> {
  const s = packStore();
  const base: PackStatus = {
    id: p.id,
    label: p.label,
    shipped: p.shipped,
    testOnly: p.testOnly,
    ...(p.addedFrom ? { addedFrom: p.addedFrom } : {}),
    state: 'unknown',
    totalBytes: null,
    storedBytes: 0,
    gpuFeatures: null,
    memoryBytes: null,
    licence: null,
    manifestSha256: null,
    files: [],
    downloading: running.has(p.id),
  };
  let m;
  try {
    m = await s.manifest(p.id);
  } catch (e) {
    return { ...base, manifestError: (e as Error).message };
  }
  const idx = await s.index(p.id, m.manifest);
  return {
    ...base,
    state: idx.state,
    totalBytes: idx.totalBytes,
    storedBytes: idx.storedBytes,
    gpuFeatures: m.manifest.requirements.gpu_features,
    memoryBytes: m.manifest.requirements.memory_bytes,
    licence: m.manifest.licence,
    manifestSha256: m.sha256,
    files: idx.files,
    ...(s.lastUpdate(p.id) ? { updated: s.lastUpdate(p.id) } : {}),
  };
}

async function exclusive<T>(id: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  await packsReady();
  requirePack(id);
  return busyWith(id, fn);
}

/**
 * Runs `fn` as the one store operation on `id` (a pack id, or the key of an operation making a pack not listed yet),
 * cancelled by `packCancel(id)`; a second operation on the same id is refused while it runs.
 */
export async function busyWith<T>(id: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (running.has(id))
    throw new RgError('BAD_INPUT', `${id} is busy (a download or verification is running).`, {
      hint: 'Wait for it or cancel it.',
    });
  const ctl = new AbortController();
  running.set(id, ctl);
  try {
    return await fn(ctl.signal);
  } finally {
    running.delete(id);
  }
}

/** Methods added to the worker's API (see RgApi in src/worker/api.ts). */
export const storeApi = {
  /** Every pack the registry knows, with what its manifest asks for and what is cached. */
  async packList(): Promise<PackStatus[]> {
    await packsReady();
    return Promise.all(allPacks().map(status));
  },

  /**
   * Adds a pack from the URL of its folder or its manifest.json: the manifest is read and checked (schema, an id of
   * its own, the memory plan) and the pack listed; nothing else is fetched until it is downloaded.
   */
  async packAdd(url: string): Promise<PackStatus> {
    const { entry } = await addedPacks().add(url, { admit: (m) => admission(m) });
    return status(entry);
  },

  async packEntries(): Promise<PackEntry[]> {
    await packsReady();
    return [...allPacks()];
  },

  /**
   * Imports a pack from a folder picked on this computer (`files`: paths relative to the folder, `folder`: its name
   * for messages). Before anything is stored: the manifest is checked as `packAdd` checks one, and every file it
   * lists must be in the folder at its size (the refusal names the files). Then the pack is listed and its files are
   * copied into the store through the same hashed writes as a download (`download` events; packCancel stops it and
   * keeps what was stored; importing the folder again finishes it).
   */
  async packImport(folder: string, files: FolderFile[], sink?: StoreEventSink): Promise<PackStatus> {
    await packsReady();
    const byPath = new Map<string, Blob>();
    for (const f of files) byPath.set(f.path.replace(/^\.?\//, ''), f.file);
    const name = folder || 'the folder';
    const mf = byPath.get('manifest.json');
    if (!mf)
      throw new RgError('BAD_INPUT', `“${name}” has no manifest.json at its top.`, {
        field: 'packFolder',
        hint: 'Pick the pack folder itself (the one holding manifest.json), as `rg convert` writes it.',
      });
    const { entry, manifest } = await addedPacks().checkFolder(new Uint8Array(await mf.arrayBuffer()), name, {
      admit: (m) => admission(m),
    });
    const wrong = manifest.files.flatMap((f) => {
      const got = byPath.get(f.path);
      if (!got) return [`${f.path} is missing`];
      return got.size === f.bytes ? [] : [`${f.path} has ${got.size} bytes, the manifest says ${f.bytes}`];
    });
    if (wrong.length)
      throw new RgError(
        'BAD_INPUT',
        `“${name}” does not hold the files its manifest lists: ${wrong.slice(0, 3).join('; ')}` +
          (wrong.length > 3 ? ` (and ${wrong.length - 3} more)` : ''),
        { field: 'packFolder', hint: 'Pick the complete pack folder; nothing was imported.' },
      );
    if (running.has(entry.id)) throw new RgError('BAD_INPUT', `${entry.id} is busy; cancel the download first.`);
    await addedPacks().record(entry);
    const copy = new PackStore({
      baseFor: () => entry.base,
      pinnedManifest: () => entry.manifestSha256,
      admit: (m) => admission(m),
      fetchFn: folderFetch(byPath, entry.base),
    });
    await exclusive(entry.id, (signal) =>
      copy.download(entry.id, { signal, onProgress: (progress) => emit(sink, { type: 'download', progress }) }),
    );
    return status(entry);
  },

  /** Removes a pack added from a URL: its stored files, then its entry. */
  async packForget(id: string): Promise<void> {
    await packsReady();
    if (running.has(id) || loads.has(id))
      throw new RgError('BAD_INPUT', `${id} is busy; cancel the download first.`, { field: 'pack' });
    const p = findPack(id);
    if (!p?.addedFrom) await addedPacks().remove(id); // throws the right message (shipped, or unknown)
    await packStore().delete(id);
    await addedPacks().remove(id);
  },

  /** The browser's storage estimate for this origin. */
  async storageInfo(): Promise<StorageInfo> {
    return storageInfo();
  },

  /** Downloads (or resumes) a pack; progress arrives as `download` events. */
  async packDownload(id: string, sink?: StoreEventSink): Promise<PackStatus> {
    await packsReady();
    if (isFolderPack(findPack(id)))
      throw new RgError('BAD_INPUT', `${id} came from a folder on this computer; it cannot be downloaded.`, {
        field: 'pack',
        hint: 'Import the folder again (Add a pack from a folder): what is stored is kept and the rest is copied.',
      });
    if (isConvertedPack(findPack(id)))
      throw new RgError('BAD_INPUT', `${id} was converted in this tab; it cannot be downloaded.`, {
        field: 'pack',
        hint: 'Remove it, then convert its Hugging Face repo again (Inspect a Hugging Face model).',
      });
    await exclusive(id, (signal) =>
      packStore().download(id, { signal, onProgress: (progress) => emit(sink, { type: 'download', progress }) }),
    );
    return status(requirePack(id));
  },

  /** Cancels a running download, verification or load of `id` (the bytes stored so far are kept). */
  async packCancel(id: string): Promise<void> {
    running.get(id)?.abort(new CancelledError('Download cancelled'));
    loads.get(id)?.abort(new CancelledError('Loading cancelled'));
  },

  /** Re-hashes every cached file; a file that fails is fetched again alone. */
  async packVerify(id: string, sink?: StoreEventSink): Promise<VerifyReport> {
    await packsReady();
    return exclusive(id, (signal) =>
      packStore().verify(id, {
        signal,
        refetch: !isFolderPack(findPack(id)) && !isConvertedPack(findPack(id)),
        onFile: (path, done, total) => emit(sink, { type: 'verify', packId: id, path, done, total }),
        onProgress: (progress) => emit(sink, { type: 'download', progress }),
      }),
    );
  },

  /** Removes a pack from the store. */
  async packDelete(id: string): Promise<PackStatus> {
    await packsReady();
    if (running.has(id)) throw new RgError('BAD_INPUT', `${id} is busy; cancel the download first.`);
    await packStore().delete(requirePack(id).id);
    return status(requirePack(id));
  },

  /** The manifest the store holds for a pack (offline too), or the one on the network when it is not cached. */
  async packManifest(id: string): Promise<PackManifest> {
    await packsReady();
    const s = packStore();
    const cached = await s.current(requirePack(id).id);
    if (cached) return { manifest: cached.manifest, sha256: cached.sha256, cached: true };
    const fetched = await s.fetchManifest(id);
    return { manifest: fetched.manifest, sha256: fetched.sha256, cached: false };
  },

  /**
   * Loads every file of a pack through CachedPackSource, exactly as a pipeline would (each file read from the
   * cache and checked against its sha256), and reports the pack ready.
   */
  async packLoad(id: string, sink?: StoreEventSink): Promise<PackReady> {
    await packsReady();
    requirePack(id);
    if (loads.has(id)) throw new RgError('BAD_INPUT', `${id} is already being loaded.`, { hint: 'Wait for it.' });
    const ctl = new AbortController();
    loads.set(id, ctl);
    try {
      const t0 = performance.now();
      const src = cachedPack(id, {
        signal: ctl.signal,
        onWaitForLock: (_, waiting) =>
          emit(sink, { type: 'waiting', packId: id, message: waiting ? WAITING_FOR_TAB : '' }),
      });
      const m = await src.manifest();
      let bytes = 0;
      for (let i = 0; i < m.files.length; i++) {
        const f = m.files[i]!;
        emit(sink, { type: 'load', packId: id, path: f.path, done: i, total: m.files.length });
        bytes += (await src.file(f.path)).byteLength;
      }
      emit(sink, { type: 'load', packId: id, path: '', done: m.files.length, total: m.files.length });
      return {
        packId: id,
        manifestSha256: await src.manifestSha256(),
        files: m.files.length,
        bytes,
        fetchedFiles: src.fetchedFiles,
        ms: performance.now() - t0,
      };
    } finally {
      loads.delete(id);
    }
  },
};
