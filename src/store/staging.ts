/**
 * @file Files of the weights store read and written as a converter's input and output, for converting a checkpoint
 * inside the tab (src/convert/hub_pack.ts): the checkpoint's files are first downloaded into the store under a
 * staging id (the same resumable, hashed writes as a pack download), `storedReader` then gives the converter random
 * access to them chunk by chunk, and `storeSink` writes the converted files, chunk by chunk and hashed, under the new
 * pack's id. No whole file is held in memory on either side: a read touches the chunks it spans (the last one is
 * kept for the next read), a write buffers one chunk.
 *
 * The reader and the sink have the converter's shapes (CheckpointReader, ConvertSink in src/convert/checkpoint.ts)
 * without importing it: the store sits below the converters.
 */
import { createSHA256 } from 'hash-wasm';
import { CancelledError, RgError } from '../errors';
import type { FileEntry } from '../packs/manifest';
import { sha256Hex } from '../packs/source';
import { isQuotaError } from './storage';
import type { FileRecord, WeightStore } from './weights';

/** Stores `bytes` whole as a cached file of `packId` (a small file fetched and checked by the caller). */
export async function putWhole(
  store: WeightStore,
  packId: string,
  path: string,
  bytes: Uint8Array,
): Promise<FileEntry> {
  const entry: FileEntry = { path, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) };
  await store.resetFile(packId, path);
  const rec = store.newRecord(packId, entry);
  const cs = rec.chunkSize;
  for (let i = 0, at = 0; at < bytes.byteLength; i++, at += cs) {
    const end = Math.min(at + cs, bytes.byteLength);
    await store.commitChunk({ ...rec, stored: end, updatedAt: Date.now() }, i, bytes.slice(at, end));
  }
  await store.putRecord({ ...rec, stored: bytes.byteLength, state: 'cached', updatedAt: Date.now() });
  return entry;
}

/** What `storedReader` reports as the converter reads: bytes read so far (each range counted once per read). */
export type ReadProgress = (path: string, bytesRead: number) => void;

/**
 * Random access to the cached files of `packId` (a staged checkpoint). Only cached (complete, hash-checked) files
 * exist for it; a read past a file's end throws. `signal` stops the next read with CancelledError.
 */
export function storedReader(
  store: WeightStore,
  packId: string,
  opts: { signal?: AbortSignal; onRead?: ReadProgress } = {},
): {
  size(path: string): Promise<number | null>;
  read(path: string, begin: number, end: number): Promise<Uint8Array>;
} {
  const records = new Map<string, FileRecord>();
  let last: { path: string; index: number; bytes: Uint8Array } | null = null;
  let total = 0;
  const record = async (path: string): Promise<FileRecord | null> => {
    let r = records.get(path);
    if (!r) {
      const got = await store.fileRecord(packId, path);
      if (!got || got.state !== 'cached') return null;
      r = got;
      records.set(path, r);
    }
    return r;
  };
  const chunk = async (rec: FileRecord, index: number): Promise<Uint8Array> => {
    if (last && last.path === rec.path && last.index === index) return last.bytes;
    const bytes = await store.readChunk(packId, rec.path, index);
    const want = Math.min(rec.chunkSize, rec.bytes - index * rec.chunkSize);
    if (!bytes || bytes.byteLength !== want)
      throw new Error(`${rec.path}: stored chunk ${index} is missing or has the wrong size`);
    last = { path: rec.path, index, bytes };
    return bytes;
  };
  return {
    async size(path) {
      return (await record(path))?.bytes ?? null;
    },
    async read(path, begin, end) {
      if (opts.signal?.aborted) throw new CancelledError('Conversion cancelled');
      const rec = await record(path);
      if (!rec) throw new Error(`${path} is not stored`);
      if (begin < 0 || end > rec.bytes || begin > end)
        throw new Error(`${path}: the range [${begin}, ${end}) is outside its ${rec.bytes} bytes`);
      const out = new Uint8Array(end - begin);
      const cs = rec.chunkSize;
      for (let at = begin; at < end;) {
        const index = Math.floor(at / cs);
        const c = await chunk(rec, index);
        const from = at - index * cs;
        const n = Math.min(c.byteLength - from, end - at);
        out.set(c.subarray(from, from + n), at - begin);
        at += n;
      }
      total += out.byteLength;
      opts.onRead?.(path, total);
      return out;
    },
  };
}

/**
 * Writes converted files into the store as files of `packId`, each chunked and hashed as it streams; a file becomes
 * `cached` when it is closed with the size it was announced with. `keep(path)` names files held back in memory
 * instead (the manifest, which the caller stores as the pack's manifest record once everything else is in).
 */
export function storeSink(
  store: WeightStore,
  packId: string,
  opts: { signal?: AbortSignal; keep?: (path: string) => boolean; onFile?: (path: string) => void } = {},
): {
  create(path: string, bytes: number): Promise<{ write(b: Uint8Array): Promise<void>; close(): Promise<void> }>;
  /** The files held back by `keep`, by path. */
  kept: Map<string, Uint8Array>;
  /** Every stored file, with its sha256, in the order closed. */
  written: FileEntry[];
} {
  const kept = new Map<string, Uint8Array>();
  const written: FileEntry[] = [];
  return {
    kept,
    written,
    async create(path, bytes) {
      opts.onFile?.(path);
      if (opts.keep?.(path)) {
        const parts: Uint8Array[] = [];
        return {
          async write(b) {
            parts.push(b);
          },
          async close() {
            const all = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
            let at = 0;
            for (const p of parts) {
              all.set(p, at);
              at += p.byteLength;
            }
            if (all.byteLength !== bytes)
              throw new Error(`${path}: ${all.byteLength} bytes written, ${bytes} announced`);
            kept.set(path, all);
          },
        };
      }
      await store.resetFile(packId, path);
      const hasher = await createSHA256();
      hasher.init();
      // The sha256 is known only at the end: the record says "partial" with an empty hash until then.
      let rec: FileRecord = store.newRecord(packId, { path, bytes, sha256: '' });
      const cs = rec.chunkSize;
      let buf = new Uint8Array(Math.min(cs, bytes));
      let fill = 0;
      let index = 0;
      const commit = async () => {
        rec = { ...rec, stored: index * cs + fill, updatedAt: Date.now() };
        try {
          await store.commitChunk(rec, index, fill === buf.byteLength ? buf : buf.slice(0, fill));
        } catch (e) {
          if (!isQuotaError(e)) throw e;
          throw new RgError('QUOTA', `The browser ran out of storage while writing ${path} of the converted pack.`, {
            hint:
              'The downloaded files are kept: free space (delete another pack, or clear other site data), then ' +
              'resume the conversion. Deleting the stopped conversion frees its download instead.',
            cause: e,
          });
        }
        index++;
        fill = 0;
        buf = new Uint8Array(Math.max(0, Math.min(cs, bytes - index * cs)));
      };
      return {
        async write(b) {
          if (opts.signal?.aborted) throw new CancelledError('Conversion cancelled');
          if (rec.stored + fill + b.byteLength > bytes)
            throw new Error(`${path}: more than the ${bytes} bytes announced`);
          hasher.update(b);
          let v = b;
          while (v.byteLength > 0) {
            const n = Math.min(buf.byteLength - fill, v.byteLength);
            buf.set(v.subarray(0, n), fill);
            fill += n;
            v = v.subarray(n);
            if (fill === buf.byteLength) await commit();
          }
        },
        async close() {
          if (fill > 0) await commit();
          if (rec.stored !== bytes) throw new Error(`${path}: ${rec.stored} bytes written, ${bytes} announced`);
          const sha256 = hasher.digest('hex');
          await store.putRecord({ ...rec, sha256, state: 'cached', updatedAt: Date.now() });
          written.push({ path, bytes, sha256 });
        },
      };
    },
  };
}
