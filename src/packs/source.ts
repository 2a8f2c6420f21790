/**
 * @file PackSource: how the model loaders get a pack's bytes. Every loader (reasoner, painter, VAE) reads files only
 * through this interface, so a shipped pack served from our own origin and a real pack downloaded from another host
 * go through the same code. `FetchPackSource` fetches and verifies each file against the manifest's sha256;
 * the weights store (src/store/) provides a cached implementation on IndexedDB with resumable downloads. A weights
 * loader streams a file (`read`, through `readPieces`) instead, so no whole file is held in the JS heap.
 */
import { createSHA256, sha256 } from 'hash-wasm';
import { RgError } from '../errors';
import { parseManifest, type FileEntry, type Manifest } from './manifest';

export interface FileProgress {
  path: string;
  loaded: number;
  total: number;
}

export interface PackSource {
  /** The pack id (manifest `id`). */
  readonly id: string;
  /** The parsed, validated manifest. */
  manifest(): Promise<Manifest>;
  /** The verified bytes of `path` (a file the manifest lists). Throws RgError('INTEGRITY') on a hash mismatch. */
  file(path: string, onProgress?: (p: FileProgress) => void): Promise<Uint8Array>;
  /**
   * Streams `path` to `consume` in pieces, in order, without assembling it. Size and sha256 are checked as the
   * pieces pass: a mismatch throws RgError('INTEGRITY') from the iteration after the last piece, so `consume` must
   * read to the end (a consumer that stops early gets RgError('INTERNAL')) and drop what it built when the iteration
   * throws. A source may call `consume` again with a fresh stream (a damaged cached copy fetched again), so each call
   * must start from scratch. Optional: `readPieces` falls back to `file()` as one piece.
   */
  read?<T>(path: string, consume: PieceConsumer<T>, onProgress?: (p: FileProgress) => void): Promise<T>;
}

/** What streams a file: gets its pieces, returns what it built from them. */
export type PieceConsumer<T> = (pieces: AsyncIterable<Uint8Array>) => Promise<T>;

/** `source.read(path, consume)`, or for a source without it the whole file as one piece. */
export async function readPieces<T>(
  source: PackSource,
  path: string,
  consume: PieceConsumer<T>,
  onProgress?: (p: FileProgress) => void,
): Promise<T> {
  if (source.read) return source.read(path, consume, onProgress);
  const bytes = await source.file(path, onProgress);
  return consume(
    (async function* () {
      yield bytes;
    })(),
  );
}

/** The bytes of a JSON file of the pack, parsed. */
export async function readJson(source: PackSource, path: string): Promise<unknown> {
  const bytes = await source.file(path);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new RgError('INTEGRITY', `${source.id}/${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): Promise<string> {
  return sha256(bytes);
}

function sizeError(packId: string, entry: FileEntry, got: string): RgError {
  return new RgError('INTEGRITY', `${packId}/${entry.path} has ${got} bytes; the manifest says ${entry.bytes}`, {
    hint: 'The file is truncated or was replaced. Verify the pack in the model manager to fetch it again.',
  });
}

function hashError(packId: string, entry: FileEntry, got: string): RgError {
  return new RgError(
    'INTEGRITY',
    `${packId}/${entry.path} failed its sha256 check ` +
      `(got ${got.slice(0, 12)}…, expected ${entry.sha256.slice(0, 12)}…)`,
    {
      hint: 'The file was corrupted or tampered with. Verify the pack in the model manager to fetch it again.',
    },
  );
}

/** Throws unless `bytes` match the manifest entry's size and sha256. */
export async function verifyEntry(packId: string, entry: FileEntry, bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength !== entry.bytes) throw sizeError(packId, entry, String(bytes.byteLength));
  const got = await sha256Hex(bytes);
  if (got !== entry.sha256) throw hashError(packId, entry, got);
}

/**
 * The pieces of `from`, passed on as they come while their size and sha256 are counted: more bytes than the manifest
 * entry says throws at once; fewer, or another hash, throws after the last piece. `onPiece` runs before each piece
 * is passed on (a cancel check, progress).
 */
export async function* verifiedPieces(
  packId: string,
  entry: FileEntry,
  from: AsyncIterable<Uint8Array>,
  onPiece?: (loaded: number) => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  const hasher = await createSHA256();
  hasher.init();
  let loaded = 0;
  for await (const p of from) {
    loaded += p.byteLength;
    if (loaded > entry.bytes) throw sizeError(packId, entry, `more than ${entry.bytes}`);
    hasher.update(p);
    onPiece?.(loaded);
    yield p;
  }
  if (loaded !== entry.bytes) throw sizeError(packId, entry, String(loaded));
  const got = hasher.digest('hex');
  if (got !== entry.sha256) throw hashError(packId, entry, got);
}

/**
 * Runs `consume` over `pieces` and makes sure it read them to the end (where the size and hash are checked): a
 * consumer that returned early has not seen the file checked.
 */
export async function consumeAll<T>(
  what: string,
  pieces: AsyncIterable<Uint8Array>,
  consume: PieceConsumer<T>,
): Promise<T> {
  let ended = false;
  const r = await consume(
    (async function* () {
      yield* pieces;
      ended = true;
    })(),
  );
  if (!ended) throw new RgError('INTERNAL', `${what} was not read to its end, so it was not verified`);
  return r;
}

/** Reads a pack straight from a URL base (no cache), verifying every file. Used by tests and as the store's origin. */
export class FetchPackSource implements PackSource {
  private manifestPromise: Promise<Manifest> | null = null;

  /** @param base URL of the pack folder, ending in '/'. */
  constructor(
    readonly id: string,
    readonly base: string,
    private readonly fetchFn: typeof fetch = (...a) => fetch(...a),
  ) {}

  manifest(): Promise<Manifest> {
    this.manifestPromise ??= this.loadManifest().catch((e) => {
      this.manifestPromise = null;
      throw e;
    });
    return this.manifestPromise;
  }

  private async loadManifest(): Promise<Manifest> {
    const res = await this.get('manifest.json');
    const m = parseManifest(JSON.parse(new TextDecoder().decode(new Uint8Array(await res.arrayBuffer()))));
    if (m.id !== this.id)
      throw new RgError('INTEGRITY', `manifest at ${this.base} is for pack ${m.id}, not ${this.id}`);
    return m;
  }

  private async get(path: string): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchFn(new URL(path, this.base).href);
    } catch (e) {
      throw new RgError('NETWORK', `could not fetch ${this.id}/${path}: ${(e as Error).message}`, { cause: e });
    }
    if (!res.ok) throw new RgError('NETWORK', `fetching ${this.id}/${path} failed: HTTP ${res.status}`);
    return res;
  }

  private async entry(path: string): Promise<FileEntry> {
    const m = await this.manifest();
    const entry = m.files.find((f) => f.path === path);
    if (!entry) throw new RgError('INTEGRITY', `${this.id} has no file ${path} in its manifest`);
    return entry;
  }

  async file(path: string, onProgress?: (p: FileProgress) => void): Promise<Uint8Array> {
    const entry = await this.entry(path);
    const res = await this.get(path);
    const bytes = new Uint8Array(await res.arrayBuffer());
    onProgress?.({ path, loaded: bytes.byteLength, total: entry.bytes });
    await verifyEntry(this.id, entry, bytes);
    return bytes;
  }

  /** The response body's pieces as the network delivers them. */
  async read<T>(path: string, consume: PieceConsumer<T>, onProgress?: (p: FileProgress) => void): Promise<T> {
    const entry = await this.entry(path);
    const res = await this.get(path);
    const id = this.id;
    async function* body(): AsyncGenerator<Uint8Array, void, undefined> {
      if (!res.body) {
        yield new Uint8Array(await res.arrayBuffer());
        return;
      }
      const reader = res.body.getReader();
      let done = false;
      try {
        for (;;) {
          let r: ReadableStreamReadResult<Uint8Array>;
          try {
            r = await reader.read();
          } catch (e) {
            throw new RgError('NETWORK', `fetching ${id}/${path} failed: ${(e as Error).message}`, { cause: e });
          }
          if (r.done) break;
          if (r.value.byteLength) yield r.value;
        }
        done = true;
      } finally {
        // A consumer that stopped early (or failed) frees the connection.
        if (!done) await reader.cancel().catch(() => undefined);
        reader.releaseLock();
      }
    }
    const pieces = verifiedPieces(id, entry, body(), (loaded) => onProgress?.({ path, loaded, total: entry.bytes }));
    return consumeAll(`${id}/${path}`, pieces, consume);
  }
}
