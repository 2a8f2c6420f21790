// A disk that fills up mid-download (IndexedDB writes start failing with QuotaExceededError): the download stops
// with RgError('QUOTA') and a message saying what is kept, the run history is untouched, the partial pack stays
// (the stated policy: keep for resume), and once space is back a download resumes from the stored byte.
import { describe, expect, it } from 'vitest';
import { createStore, type UseStore } from 'idb-keyval';
import { RgError } from '../../../src/errors';
import { HistoryStore } from '../../../src/store/history';
import { PARTIAL_POLICY } from '../../../src/store/storage';
import { WeightStore } from '../../../src/store/weights';
import { CHUNK, PACK, Session, dbName, reference, storeFor } from './fixture';

/** An idb-keyval store whose write transactions fail like a full disk once `full` is set. */
function fillableStore(name: string): { use: UseStore; fullAfter: (writes: number) => void; free: () => void } {
  const inner = createStore(name, 'kv');
  let budget = Infinity;
  const use: UseStore = (mode, cb) => {
    if (mode === 'readwrite') {
      if (budget <= 0) return Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
      budget--;
    }
    return inner(mode, cb);
  };
  return { use, fullAfter: (n) => void (budget = n), free: () => void (budget = Infinity) };
}

async function png(color: string): Promise<Uint8Array> {
  const c = new OffscreenCanvas(4, 4);
  const g = c.getContext('2d')!;
  g.fillStyle = color;
  g.fillRect(0, 0, 4, 4);
  return new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
}

describe('quota exceeded mid-download', async () => {
  const ref = await reference();

  it('says so clearly, keeps the partial pack for resume, and leaves history intact', async () => {
    const history = new HistoryStore(dbName());
    const sha = 'a'.repeat(64);
    for (const [i, color] of ['red', 'blue'].entries()) {
      await history.save({
        mode: 'imagine',
        inputs: { prompt: `run ${i}` },
        settings: { steps: 4, seed: i },
        reasoning: 'r',
        answer: 'a',
        timings: { total: 1 },
        pack: { id: PACK, manifestSha256: sha },
        image: await png(color),
      });
    }
    const before = await history.list();

    const s = new Session();
    const fill = fillableStore(dbName());
    const store = storeFor(s, { weights: new WeightStore({ dbName: 'unused', chunkSize: CHUNK, useStore: fill.use }) });
    fill.fullAfter(20); // the manifest, then ~19 chunks
    const err = await store.download(PACK).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RgError);
    const q = err as RgError;
    expect(q.code).toBe('QUOTA');
    const total = (ref.manifest.total_bytes / 1e6).toFixed(2).replace('.', '\\.');
    expect(q.message).toMatch(
      new RegExp(
        `^The browser ran out of storage while saving tiny-random/[\\w./]+\\. [\\d.]+ (KB|MB) of ${total} MB ` +
          `of the pack are saved and kept, so the download can resume from where it stopped\\.$`,
      ),
    );
    expect(q.hint).toMatch(/Free space .* then press Resume/);
    expect(PARTIAL_POLICY).toMatch(/kept/);

    // History: the same runs, byte for byte.
    expect(await history.list()).toEqual(before);
    for (const r of before) expect((await history.get(r.id))!.image!.byteLength).toBeGreaterThan(8);

    // Policy: the partial data stays, counted exactly.
    const idx = await store.index(PACK, ref.manifest);
    expect(idx.state).toBe('partial');
    expect(idx.storedBytes).toBeGreaterThan(0);
    expect(q.message).toContain(
      idx.storedBytes >= 1e6
        ? `${(idx.storedBytes / 1e6).toFixed(2)} MB`
        : `${(idx.storedBytes / 1e3).toFixed(idx.storedBytes >= 1e5 ? 0 : 1)} KB`,
    );

    // Space is back: the download resumes (partial file continues with Range) and completes.
    fill.free();
    await s.plan({});
    const partialFile = idx.files.find((f) => f.state === 'partial');
    expect((await store.download(PACK)).state).toBe('cached');
    const log = await s.log();
    expect(log.some((e) => e.path === 'manifest.json')).toBe(false);
    expect(partialFile, 'the quota hit inside a file').toBeDefined();
    expect(log.find((e) => e.path === partialFile!.path)!.range).toBe(`bytes=${partialFile!.stored}-`);
    for (const f of idx.files.filter((f) => f.state === 'cached'))
      expect(log.some((e) => e.path === f.path)).toBe(false);
    expect(await history.list()).toEqual(before);
  });
});
