// The store as a converter's input and output (src/store/staging.ts), on real IndexedDB in Chromium with 64 KiB
// chunks: files written through `storeSink` in writes of odd sizes are stored chunk by chunk, cached with the sha256
// of their bytes, and read back through `storedReader` exactly, for ranges inside a chunk, across chunk boundaries
// and of the whole file; `putWhole` stores a small file in one go; a cancelled write throws and leaves the file
// partial (never cached); a full disk is QUOTA; reads past a file's end and of files not stored are refused.
import { describe, expect, it } from 'vitest';
import { createStore, type UseStore } from 'idb-keyval';
import { CancelledError, RgError } from '../../../src/errors';
import { sha256Hex } from '../../../src/packs/source';
import { putWhole, storedReader, storeSink } from '../../../src/store/staging';
import { WeightStore } from '../../../src/store/weights';
import { mulberry32 } from '../../helpers/rng';
import { CHUNK, dbName } from './fixture';

function seededBytes(n: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

describe('staging: the store as a converter reads and writes it', () => {
  it('writes in odd pieces, caches with the sha256, and reads back any range exactly', async () => {
    const store = new WeightStore({ dbName: dbName(), chunkSize: CHUNK });
    const data = seededBytes(3 * CHUNK + 12_345, 7);
    const sink = storeSink(store, 'p', { keep: (p) => p === 'manifest.json' });
    const w = await sink.create('w.bin', data.byteLength);
    const r = mulberry32(3);
    for (let at = 0; at < data.byteLength;) {
      const n = Math.min(1 + Math.floor(r() * 50_000), data.byteLength - at);
      await w.write(data.slice(at, at + n));
      at += n;
    }
    await w.close();
    const m = await sink.create('manifest.json', 3);
    await m.write(new Uint8Array([1, 2, 3]));
    await m.close();

    const rec = await store.fileRecord('p', 'w.bin');
    expect(rec).toMatchObject({ state: 'cached', stored: data.byteLength, sha256: await sha256Hex(data) });
    expect(sink.written).toEqual([{ path: 'w.bin', bytes: data.byteLength, sha256: rec!.sha256 }]);
    // The kept file is in memory only.
    expect(Array.from(sink.kept.get('manifest.json')!)).toEqual([1, 2, 3]);
    expect(await store.fileRecord('p', 'manifest.json')).toBeUndefined();

    const reads: number[] = [];
    const reader = storedReader(store, 'p', { onRead: (_, n) => reads.push(n) });
    expect(await reader.size('w.bin')).toBe(data.byteLength);
    expect(await reader.size('nothing')).toBeNull();
    for (const [b, e] of [
      [0, 8],
      [CHUNK - 3, CHUNK + 5],
      [10, 2 * CHUNK + 100],
      [3 * CHUNK, data.byteLength],
      [0, data.byteLength],
      [500, 500],
    ] as const)
      expect(Array.from(await reader.read('w.bin', b, e)), `[${b}, ${e})`).toEqual(Array.from(data.subarray(b, e)));
    expect(reads.at(-1)).toBe(8 + 8 + (2 * CHUNK + 90) + 12_345 + data.byteLength);
    await expect(reader.read('w.bin', 0, data.byteLength + 1)).rejects.toThrow('outside');
    await expect(reader.read('nothing', 0, 1)).rejects.toThrow('is not stored');
  });

  it('putWhole stores a small file cached; an empty one too', async () => {
    const store = new WeightStore({ dbName: dbName(), chunkSize: CHUNK });
    const data = seededBytes(CHUNK + 1, 9);
    const e = await putWhole(store, 's', 'config.json', data);
    expect(e).toEqual({ path: 'config.json', bytes: data.byteLength, sha256: await sha256Hex(data) });
    expect(await store.readChunks('s', 'config.json')).toHaveLength(2);
    const reader = storedReader(store, 's');
    expect(Array.from(await reader.read('config.json', 0, data.byteLength))).toEqual(Array.from(data));
    await putWhole(store, 's', 'empty.json', new Uint8Array(0));
    expect(await reader.size('empty.json')).toBe(0);
  });

  it('a cancelled write throws CancelledError and leaves the file partial, never cached', async () => {
    const store = new WeightStore({ dbName: dbName(), chunkSize: CHUNK });
    const c = new AbortController();
    const sink = storeSink(store, 'p', { signal: c.signal });
    const w = await sink.create('w.bin', 2 * CHUNK);
    await w.write(seededBytes(CHUNK, 1));
    c.abort();
    await expect(w.write(seededBytes(CHUNK, 2))).rejects.toBeInstanceOf(CancelledError);
    expect(await store.fileRecord('p', 'w.bin')).toMatchObject({ state: 'partial', stored: CHUNK });
    expect(await storedReader(store, 'p').size('w.bin')).toBeNull();
    // A full disk while writing is QUOTA, saying the download is kept.
    const inner = createStore(dbName(), 'kv');
    let writes = 0;
    const full: UseStore = (mode, cb) =>
      mode === 'readwrite' && ++writes > 2
        ? Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'))
        : inner(mode, cb);
    const small = new WeightStore({ dbName: 'unused', chunkSize: CHUNK, useStore: full });
    const wq = await storeSink(small, 'p').create('w.bin', 3 * CHUNK);
    const q = await wq.write(seededBytes(3 * CHUNK, 4)).then(
      () => null,
      (e: unknown) => e as RgError,
    );
    expect(q).toBeInstanceOf(RgError);
    expect(q).toMatchObject({ code: 'QUOTA' });
    expect(q!.message).toContain('ran out of storage while writing w.bin');
    expect(q!.hint).toContain('downloaded files are kept');
    // Writing more than announced is refused.
    const w2 = await storeSink(store, 'q').create('x.bin', 4);
    await expect(w2.write(new Uint8Array(5))).rejects.toThrow('more than the 4 bytes');
  });
});
