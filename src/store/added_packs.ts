/**
 * @file Packs the user added from a URL: a converted pack folder on any static host (its `manifest.json` beside its
 * files, CORS allowed), or, from the command line, a local folder `rg` serves on loopback. The list is kept in
 * IndexedDB (one small record) by the worker, the single writer, and mirrored into the registry
 * (`setAddedPacks`) of whichever context loaded it, so the store, the pipelines and the pack picker treat an added
 * pack like a shipped one. Adding reads and checks the manifest only (schema, id, memory plan): nothing else is
 * fetched or stored until the user downloads the pack, and a refused pack leaves nothing behind.
 *
 * The manifest's sha256 is pinned when the pack is added, so a server that later holds another version is refused
 * (PackStore) instead of mixing files of two versions; removing and adding the pack again accepts the new one.
 */
import { createStore, get, set, type UseStore } from 'idb-keyval';
import { RgError } from '../errors';
import { parseManifest, type Manifest } from '../packs/manifest';
import { PACKS, allPacks, setAddedPacks, type PackEntry } from '../packs/registry';
import { sha256Hex } from '../packs/source';

/** A manifest larger than this is refused before it is read (real manifests are a few KB to a few hundred KB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** How many packs the user may add (a bound on the record; far above any real use). */
export const MAX_ADDED_PACKS = 64;

const RECORD_KEY = 'added-packs';
/**
 * The base of a pack imported from a folder on this computer: a name that never resolves (`.invalid` is reserved),
 * so such a pack is never fetched from anywhere; its files come from the folder once (`folderFetch`) and then from
 * the store.
 */
export const FOLDER_BASE = 'https://folder.invalid/';
/**
 * The base of a pack converted in this tab from a checkpoint (src/convert/hub_pack.ts): like a folder pack's, a name
 * that never resolves; its files were written into the store by the converter.
 */
export const CONVERTED_BASE = 'https://converted.invalid/';
const MAX_FROM_CHARS = 300;
/** The hosts plain http is read from (the page's CSP allows http on loopback only). */
const LOOPBACK = new Set(['127.0.0.1', 'localhost']);

/** Where the list lives: an idb-keyval store in the browser, a Map in unit tests. */
export interface AddedPackStorage {
  read(): Promise<unknown>;
  write(list: PackEntry[]): Promise<void>;
}

let idbStore: UseStore | null = null;
/** The list in IndexedDB (database `rg-packs`, one record). */
export function idbAddedPackStorage(): AddedPackStorage {
  idbStore ??= createStore('rg-packs', 'added');
  const store = idbStore;
  return { read: () => get(RECORD_KEY, store), write: (list) => set(RECORD_KEY, list, store) };
}

/**
 * The folder URL of a pack from what a user typed: an http(s) URL of the folder or of its `manifest.json`, without
 * credentials, query or fragment (file URLs are built by appending paths). Throws BAD_INPUT naming what is wrong.
 */
export function packFolderUrl(input: string): string {
  const text = input.trim();
  const bad = (why: string, hint?: string) =>
    new RgError('BAD_INPUT', `${text ? `“${text}”` : 'An empty address'} ${why}`, { field: 'packUrl', hint });
  if (!text) throw bad('is not a pack address', 'Paste the URL of a pack folder or of its manifest.json.');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('is not a URL', 'Give a full address, e.g. https://example.org/packs/my-pack/manifest.json.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw bad(`uses ${url.protocol}, not http: or https:`, 'Packs are read from a web server.');
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname))
    throw bad('uses http: on another machine', 'Use its https: address (plain http is only read from this machine).');
  if (url.username || url.password) throw bad('carries a user name or password', 'Remove them from the address.');
  if (url.search || url.hash)
    throw bad('has a query or a fragment', 'Give the plain folder address; files are found by appending their paths.');
  let path = url.pathname;
  if (path.endsWith('/manifest.json')) path = path.slice(0, -'manifest.json'.length);
  if (!path.endsWith('/')) path += '/';
  return `${url.origin}${path}`;
}

/** The stored list, each entry checked (a damaged record loses only the entries that do not parse). */
function readList(raw: unknown): PackEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: PackEntry[] = [];
  for (const e of raw.slice(0, MAX_ADDED_PACKS)) {
    if (!e || typeof e !== 'object') continue;
    const { id, label, base, manifestSha256, addedFrom } = e as Record<string, unknown>;
    if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(id)) continue;
    if (typeof label !== 'string' || typeof base !== 'string' || typeof manifestSha256 !== 'string') continue;
    try {
      if (packFolderUrl(base) !== base) continue;
    } catch {
      continue;
    }
    if (PACKS.some((p) => p.id === id) || out.some((p) => p.id === id)) continue;
    const from = typeof addedFrom === 'string' && addedFrom && addedFrom.length <= MAX_FROM_CHARS ? addedFrom : base;
    out.push({ id, label, base, shipped: false, testOnly: false, manifestSha256, addedFrom: from });
  }
  return out;
}

export interface AddPackOptions {
  /** The memory plan's admission (throws when the pack cannot fit this device); runs before anything is stored. */
  admit?: (manifest: Manifest) => unknown;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface AddedPack {
  entry: PackEntry;
  manifest: Manifest;
  /** The same URL was added before: its entry was refreshed, not duplicated. */
  replaced: boolean;
}

/** The added-packs list of one storage, mirrored into this context's registry. */
export class AddedPacks {
  private loaded: Promise<PackEntry[]> | null = null;

  constructor(private readonly storage: AddedPackStorage) {}

  /** The list (read once per context; the registry mirrors it). */
  async list(): Promise<PackEntry[]> {
    this.loaded ??= this.storage
      .read()
      .catch(() => undefined)
      .then((raw) => {
        const list = readList(raw);
        setAddedPacks(list);
        return list;
      });
    return this.loaded;
  }

  private async save(list: PackEntry[]): Promise<void> {
    await this.storage.write(list);
    this.loaded = Promise.resolve(list);
    setAddedPacks(list);
  }

  /**
   * Reads `input`'s manifest.json, checks it (schema, id free, the memory plan), and records the pack. Nothing is
   * recorded when any check fails. Adding the URL a pack was added from again refreshes its entry (a new version is
   * accepted: its manifest is pinned afresh).
   */
  async add(input: string, opts: AddPackOptions = {}): Promise<AddedPack> {
    const base = packFolderUrl(input);
    const manifestUrl = `${base}manifest.json`;
    const bytes = await fetchManifest(manifestUrl, opts);
    const r = await this.check(bytes, manifestUrl, () => base, base, 'packUrl', opts);
    await this.record(r.entry);
    return r;
  }

  /**
   * Checks the manifest of a folder picked on this computer (`name`: the folder's name, for messages) as `add`
   * does, without recording it: the caller checks the folder's files first, then calls `record`.
   */
  async checkFolder(bytes: Uint8Array, name: string, opts: AddPackOptions = {}): Promise<AddedPack> {
    if (bytes.byteLength > MAX_MANIFEST_BYTES) throw tooLarge(`manifest.json of “${name}”`, bytes.byteLength);
    const where = `The manifest.json of the folder “${name}”`;
    const from = `a folder on this computer (“${name.slice(0, 200)}”)`;
    return this.check(bytes, where, (id) => `${FOLDER_BASE}${id}/`, from, 'packFolder', opts);
  }

  /**
   * Checks the manifest of a pack the converter is about to write in this tab (`from`: where its checkpoint came
   * from, for the Model manager) as `add` does, without recording it: the caller records it once every file is stored.
   */
  async checkConverted(bytes: Uint8Array, from: string, opts: AddPackOptions = {}): Promise<AddedPack> {
    const where = `The converted pack from ${from}`;
    return this.check(bytes, where, (id) => `${CONVERTED_BASE}${id}/`, from, 'repo', opts);
  }

  /** Records a checked pack (from `add`, `checkFolder` or `checkConverted`), replacing an entry of the same id. */
  async record(entry: PackEntry): Promise<void> {
    const list = await this.list();
    await this.save([...list.filter((p) => p.id !== entry.id), entry]);
  }

  private async check(
    bytes: Uint8Array,
    where: string,
    /** The pack's base URL, from its id (a folder pack's is made from it). */
    baseOf: (id: string) => string,
    from: string,
    field: string,
    opts: AddPackOptions,
  ): Promise<AddedPack> {
    const hint = 'A pack folder made by `rg convert` or tools/ holds a manifest.json beside its files.';
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new RgError('BAD_INPUT', `${where} is not JSON: ${(e as Error).message}`, { field, hint });
    }
    let manifest: Manifest;
    try {
      manifest = parseManifest(json);
    } catch (e) {
      const why = (e as Error).message.replace(/^manifest\.json is not valid: /, '');
      throw new RgError('BAD_INPUT', `${where} is not a pack manifest: ${why}`, { field, hint });
    }
    const base = baseOf(manifest.id);
    const entry: PackEntry = {
      id: manifest.id,
      label: manifest.name,
      base,
      shipped: false,
      testOnly: false,
      manifestSha256: await sha256Hex(bytes),
      addedFrom: from,
    };
    const list = await this.list();
    if (PACKS.some((p) => p.id === manifest.id))
      throw new RgError('BAD_INPUT', `${where} is pack “${manifest.id}”, which this app ships.`, {
        field,
        hint: 'A pack from elsewhere needs an id of its own (the manifest’s `id`).',
      });
    const same = list.find((p) => p.id === manifest.id);
    if (same && same.base !== base)
      throw new RgError('BAD_INPUT', `A pack “${manifest.id}” was already added from ${same.addedFrom ?? same.base}.`, {
        field,
        hint: 'Remove that pack in the Model manager first, then add this one.',
      });
    if (!same && list.length >= MAX_ADDED_PACKS)
      throw new RgError('BAD_INPUT', `${MAX_ADDED_PACKS} packs are added already.`, {
        field,
        hint: 'Remove one you no longer use.',
      });
    await opts.admit?.(manifest);
    return { entry, manifest, replaced: same !== undefined };
  }

  /** Drops an added pack from the list (the caller deletes its stored files). Shipped packs cannot be removed. */
  async remove(id: string): Promise<PackEntry> {
    const list = await this.list();
    const entry = list.find((p) => p.id === id);
    if (!entry) {
      const shipped = allPacks().some((p) => p.id === id && p.shipped);
      throw new RgError(
        'BAD_INPUT',
        shipped ? `${id} ships with the app and cannot be removed.` : `No pack ${id} was added.`,
        { field: 'pack', hint: shipped ? 'Delete its stored files instead.' : undefined },
      );
    }
    await this.save(list.filter((p) => p.id !== id));
    return entry;
  }
}

async function fetchManifest(url: string, opts: AddPackOptions): Promise<Uint8Array> {
  const doFetch = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, { signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    throw new RgError('NETWORK', `Could not fetch ${url}: ${(e as Error).message}`, {
      cause: e,
      hint: 'Check the address and the connection; the server must allow this page to read it (CORS).',
    });
  }
  if (!res.ok)
    throw new RgError('BAD_INPUT', `${url} answered HTTP ${res.status}.`, {
      field: 'packUrl',
      hint: res.status === 404 ? 'No manifest.json there: check the address.' : 'Check the address and try again.',
    });
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > MAX_MANIFEST_BYTES) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge(url, declared);
  }
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > MAX_MANIFEST_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge(url, n);
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function tooLarge(url: string, bytes: number): RgError {
  return new RgError(
    'BAD_INPUT',
    `${url} is over ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB (${bytes.toLocaleString('en-US')} bytes or more), ` +
      'too large for a pack manifest.',
    { field: 'packUrl', hint: 'Check the address: it should be a pack’s manifest.json.' },
  );
}

/** Whether an added pack came from a folder on this computer (its files cannot be fetched again). */
export function isFolderPack(entry: PackEntry | undefined): boolean {
  return entry?.base.startsWith(FOLDER_BASE) ?? false;
}

/** Whether an added pack was converted in this tab (its files exist only in the store). */
export function isConvertedPack(entry: PackEntry | undefined): boolean {
  return entry?.base.startsWith(CONVERTED_BASE) ?? false;
}

/**
 * A `fetch` that answers a folder pack's URLs (`base` + path) from the picked files, with one byte range (the
 * downloader resumes with `Range: bytes=N-`), so importing a folder runs the same hashed, resumable store writes as
 * a download. Anything else is 404.
 */
export function folderFetch(files: ReadonlyMap<string, Blob>, base: string): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const blob = url.startsWith(base) ? files.get(decodeURIComponent(url.slice(base.length))) : undefined;
    if (init?.signal?.aborted) throw init.signal.reason;
    if (!blob) return new Response('not in the folder', { status: 404 });
    const range = /^bytes=(\d+)-$/.exec(new Headers(init?.headers).get('Range') ?? '');
    if (!range) return new Response(blob, { status: 200, headers: { 'Content-Length': String(blob.size) } });
    const start = Number(range[1]);
    if (start >= blob.size)
      return new Response(null, { status: 416, headers: { 'Content-Range': `bytes */${blob.size}` } });
    return new Response(blob.slice(start), {
      status: 206,
      headers: {
        'Content-Range': `bytes ${start}-${blob.size - 1}/${blob.size}`,
        'Content-Length': String(blob.size - start),
      },
    });
  }) as typeof fetch;
}
