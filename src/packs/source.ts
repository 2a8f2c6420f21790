/**
 * @file PackSource: how the model loaders get a pack's bytes. Every loader (reasoner, painter, VAE) reads files only
 * through this interface, so a shipped pack served from our own origin and a real pack downloaded from another host
 * go through the same code. `FetchPackSource` fetches and verifies each file against the manifest's sha256;
 * the weights store (src/store/) provides a cached implementation on IndexedDB with resumable downloads.
 */
import { sha256 } from 'hash-wasm';
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

/** Throws unless `bytes` match the manifest entry's size and sha256. */
export async function verifyEntry(packId: string, entry: FileEntry, bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength !== entry.bytes) {
    throw new RgError(
      'INTEGRITY',
      `${packId}/${entry.path} has ${bytes.byteLength} bytes; the manifest says ${entry.bytes}`,
      {
        hint: 'The file is truncated or was replaced. Verify the pack in the model manager to fetch it again.',
      },
    );
  }
  const got = await sha256Hex(bytes);
  if (got !== entry.sha256) {
    throw new RgError(
      'INTEGRITY',
      `${packId}/${entry.path} failed its sha256 check ` +
        `(got ${got.slice(0, 12)}…, expected ${entry.sha256.slice(0, 12)}…)`,
      {
        hint: 'The file was corrupted or tampered with. Verify the pack in the model manager to fetch it again.',
      },
    );
  }
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

  async file(path: string, onProgress?: (p: FileProgress) => void): Promise<Uint8Array> {
    const m = await this.manifest();
    const entry = m.files.find((f) => f.path === path);
    if (!entry) throw new RgError('INTEGRITY', `${this.id} has no file ${path} in its manifest`);
    const res = await this.get(path);
    const bytes = new Uint8Array(await res.arrayBuffer());
    onProgress?.({ path, loaded: bytes.byteLength, total: entry.bytes });
    await verifyEntry(this.id, entry, bytes);
    return bytes;
  }
}
