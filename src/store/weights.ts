/**
 * @file The weights store: pack files in IndexedDB as fixed-size chunks (4 MiB by default, so no single value is
 * hundreds of MB), plus an index record per file (cached / partial, bytes stored, the sha256 hasher's saved state)
 * and the manifest bytes per pack. Everything lives in one idb-keyval store (`createStore`) under array keys:
 *
 *   ['m', pack]               → ManifestRecord (the manifest.json bytes and their sha256)
 *   ['f', pack, path]         → FileRecord (the index entry of one file)
 *   ['c', pack, path, index]  → Uint8Array (one chunk; every chunk but the last stored one is full)
 *
 * One object store means a chunk and the index record that counts it are written in ONE transaction, so after a
 * crash, a closed tab or a quota error the index never claims bytes that are not there. Array keys make "every chunk
 * of a file" and "everything of a pack" one IDBKeyRange, so deletes are a single request.
 */
import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';
import type { FileEntry } from '../packs/manifest';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
export const DEFAULT_DB_NAME = 'rg-weights';

export interface ManifestRecord {
  packId: string;
  /** The manifest.json bytes exactly as served (their sha256 is what history records). */
  bytes: Uint8Array;
  sha256: string;
  storedAt: number;
}

export interface FileRecord {
  packId: string;
  path: string;
  /** Size and hash the manifest gives; a record for another version of the file is dropped, not reused. */
  bytes: number;
  sha256: string;
  chunkSize: number;
  /** Bytes committed to IndexedDB, from byte 0. */
  stored: number;
  /** cached: stored === bytes and the sha256 matched when it was finished. */
  state: 'partial' | 'cached';
  /** hash-wasm's saved SHA-256 state after `stored` bytes, so a resume continues the hash without re-reading. */
  hashState?: Uint8Array;
  updatedAt: number;
}

export type IdbKey = IDBValidKey;
export const manifestKey = (pack: string): IdbKey => ['m', pack];
export const fileKey = (pack: string, path: string): IdbKey => ['f', pack, path];
export const chunkKey = (pack: string, path: string, index: number): IdbKey => ['c', pack, path, index];
/** `[]` sorts after every string and number, so [prefix…, []] bounds everything that extends the prefix. */
const under = (...prefix: IDBValidKey[]): IDBKeyRange => IDBKeyRange.bound(prefix, [...prefix, []]);

export interface WeightStoreOptions {
  /** IndexedDB database name (tests use their own). */
  dbName?: string;
  /** Chunk size for files started from now on (a file keeps the chunk size it was started with). */
  chunkSize?: number;
  /** The idb-keyval store to use; tests wrap it to simulate a full disk. */
  useStore?: UseStore;
}

/** Chunked pack files and their index in IndexedDB. Works in the page and in workers. */
export class WeightStore {
  readonly chunkSize: number;
  readonly dbName: string;
  private readonly use: UseStore;

  constructor(opts: WeightStoreOptions = {}) {
    this.dbName = opts.dbName ?? DEFAULT_DB_NAME;
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.use = opts.useStore ?? createStore(this.dbName, 'kv');
  }

  /** The raw idb-keyval store (tests reach chunks through it). */
  get idb(): UseStore {
    return this.use;
  }

  manifest(pack: string): Promise<ManifestRecord | undefined> {
    return this.use('readonly', (s) =>
      promisifyRequest(s.get(manifestKey(pack)) as IDBRequest<ManifestRecord | undefined>),
    );
  }

  putManifest(rec: ManifestRecord): Promise<void> {
    return this.use('readwrite', (s) => {
      s.put(rec, manifestKey(rec.packId));
      return promisifyRequest(s.transaction);
    });
  }

  fileRecord(pack: string, path: string): Promise<FileRecord | undefined> {
    return this.use('readonly', (s) =>
      promisifyRequest(s.get(fileKey(pack, path)) as IDBRequest<FileRecord | undefined>),
    );
  }

  /** Every file record of a pack (the index). */
  fileRecords(pack: string): Promise<FileRecord[]> {
    return this.use('readonly', (s) => promisifyRequest(s.getAll(under('f', pack)) as IDBRequest<FileRecord[]>));
  }

  /** Every file record of every pack whose id starts with `prefix` (staged checkpoints, by their id's prefix). */
  fileRecordsUnder(prefix: string): Promise<FileRecord[]> {
    const range = IDBKeyRange.bound(['f', prefix], ['f', `${prefix}\uffff`]);
    return this.use('readonly', (s) => promisifyRequest(s.getAll(range) as IDBRequest<FileRecord[]>));
  }

  /** A fresh record for a file not started yet. */
  newRecord(pack: string, entry: FileEntry): FileRecord {
    return {
      packId: pack,
      path: entry.path,
      bytes: entry.bytes,
      sha256: entry.sha256,
      chunkSize: this.chunkSize,
      stored: 0,
      state: 'partial',
      updatedAt: Date.now(),
    };
  }

  /**
   * Writes chunk `index` and the record that counts it in one transaction. `data` must be exactly the chunk's bytes
   * (a view over a larger buffer would store the whole buffer).
   */
  commitChunk(rec: FileRecord, index: number, data: Uint8Array): Promise<void> {
    const exact = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    return this.use('readwrite', (s) => {
      s.put(exact, chunkKey(rec.packId, rec.path, index));
      s.put(rec, fileKey(rec.packId, rec.path));
      return promisifyRequest(s.transaction);
    });
  }

  putRecord(rec: FileRecord): Promise<void> {
    return this.use('readwrite', (s) => {
      s.put(rec, fileKey(rec.packId, rec.path));
      return promisifyRequest(s.transaction);
    });
  }

  readChunk(pack: string, path: string, index: number): Promise<Uint8Array | undefined> {
    return this.use('readonly', (s) =>
      promisifyRequest(s.get(chunkKey(pack, path, index)) as IDBRequest<Uint8Array | undefined>),
    );
  }

  /** Every stored chunk of a file, in order (one request). */
  readChunks(pack: string, path: string): Promise<Uint8Array[]> {
    return this.use('readonly', (s) => promisifyRequest(s.getAll(under('c', pack, path)) as IDBRequest<Uint8Array[]>));
  }

  /**
   * The stored bytes of a file, assembled (`rec.stored` of them). Throws when chunks are missing or have the wrong
   * size: the caller treats that like a hash failure.
   */
  async readFile(rec: FileRecord): Promise<Uint8Array> {
    const chunks = await this.readChunks(rec.packId, rec.path);
    const out = new Uint8Array(rec.stored);
    let off = 0;
    for (const c of chunks) {
      if (off + c.byteLength > out.byteLength) throw new Error(`${rec.path}: more stored bytes than the index records`);
      out.set(c, off);
      off += c.byteLength;
    }
    if (off !== rec.stored) throw new Error(`${rec.path}: ${off} bytes in chunks, the index records ${rec.stored}`);
    return out;
  }

  /** Drops a file's chunks and record (one transaction). */
  resetFile(pack: string, path: string): Promise<void> {
    return this.use('readwrite', (s) => {
      s.delete(under('c', pack, path));
      s.delete(fileKey(pack, path));
      return promisifyRequest(s.transaction);
    });
  }

  /** Drops everything of a pack: manifest, index and chunks (one transaction). */
  deletePack(pack: string): Promise<void> {
    return this.use('readwrite', (s) => {
      s.delete(manifestKey(pack));
      s.delete(under('f', pack));
      s.delete(under('c', pack));
      return promisifyRequest(s.transaction);
    });
  }
}
