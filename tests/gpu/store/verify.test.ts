// A byte flipped inside a stored chunk: verify finds exactly that file, drops it and fetches it again alone (the
// server sees one request, for that file); CachedPackSource detects the same damage on read and either refuses it
// (network off: INTEGRITY) or re-fetches that one file (network on).
import { describe, expect, it } from 'vitest';
import { RgError } from '../../../src/errors';
import { chunkKey } from '../../../src/store/weights';
import type { PackStore } from '../../../src/store/pack_store';
import { PACK, Session, equalBytes, reference, storeFor } from './fixture';

const VICTIM = 'painter.f32.safetensors'; // 802 744 bytes: 13 chunks of 64 KiB

/** Flips one byte of a stored chunk, behind the store's back (as disk corruption would). */
async function flipByte(store: PackStore, path: string, chunk: number, offset: number): Promise<void> {
  await store.weights.idb('readwrite', (s) => {
    const key = chunkKey(PACK, path, chunk);
    const req = s.get(key);
    req.onsuccess = () => {
      const data = req.result as Uint8Array;
      data[offset]! ^= 0x01;
      s.put(data, key);
    };
    return new Promise<void>((resolve, reject) => {
      s.transaction.oncomplete = () => resolve();
      s.transaction.onerror = () => reject(s.transaction.error);
    });
  });
}

describe('verify', async () => {
  const ref = await reference();

  async function cachedPack(s: Session): Promise<PackStore> {
    const store = storeFor(s);
    expect((await store.download(PACK)).state).toBe('cached');
    await s.plan({}); // clears the request log
    return store;
  }

  it('detects a flipped byte and fetches that file alone again', async () => {
    const s = new Session();
    const store = await cachedPack(s);
    await flipByte(store, VICTIM, 3, 12_345);

    const report = await store.verify(PACK);
    expect(report).toMatchObject({
      packId: PACK,
      checked: ref.manifest.files.length,
      failed: [VICTIM],
      refetched: [VICTIM],
    });
    const log = await s.log();
    expect(log.map((e) => [e.path, e.range, e.status])).toEqual([[VICTIM, null, 200]]);
    expect((await store.index(PACK, ref.manifest)).state).toBe('cached');
    expect(equalBytes(await store.source(PACK, { network: false }).file(VICTIM), await ref.file(VICTIM))).toBe(true);

    // A second verify finds nothing and fetches nothing.
    await s.plan({});
    expect(await store.verify(PACK)).toMatchObject({ failed: [], refetched: [] });
    expect(await s.log()).toEqual([]);
  });

  it('a damaged file read offline is INTEGRITY; read online it is fetched again alone', async () => {
    const s = new Session();
    const store = await cachedPack(s);
    await flipByte(store, VICTIM, 0, 100);
    const offline = store.source(PACK, { network: false });
    const err = await offline.file(VICTIM).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RgError);
    expect((err as RgError).code).toBe('INTEGRITY');
    expect((err as RgError).message).toContain('failed its sha256 check');
    expect((await store.index(PACK, ref.manifest)).files.find((f) => f.path === VICTIM)!.state).toBe('absent');
    expect(await s.log()).toEqual([]);

    await flipByte(store, 'onnx/painter.onnx', 2, 7);
    const online = store.source(PACK);
    for (const f of ref.manifest.files)
      expect(equalBytes(await online.file(f.path), await ref.file(f.path)), f.path).toBe(true);
    expect((await s.log()).map((e) => e.path).sort()).toEqual([VICTIM, 'onnx/painter.onnx'].sort());
    expect(online.fetchedFiles).toBe(2);
  });

  it('a pack read through CachedPackSource with the network off makes no request at all', async () => {
    const s = new Session();
    const store = await cachedPack(s);
    const src = store.source(PACK, { network: false });
    expect((await src.manifest()).id).toBe(PACK);
    expect(await src.manifestSha256()).toMatch(/^[0-9a-f]{64}$/);
    let bytes = 0;
    for (const f of ref.manifest.files) bytes += (await src.file(f.path)).byteLength;
    expect(bytes).toBe(ref.manifest.total_bytes);
    expect(await s.log()).toEqual([]);
  });
});
