// Cancel while a pack is loading (#17 item 4) and waiting on another context's lock (#17 item 10), at the store level
// against the loopback fault server: a cancel mid-download (a slow trickle) ends the load at once with CANCELLED,
// record and chunks agree, and the next load resumes from the stored byte and verifies; a source kept by a cached
// model obeys the signal of the run in progress, not the first run's; a load that needs a file while another context
// holds the pack's lock says so and a cancel ends the wait at once, writing nothing.
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../../src/errors';
import type { PackStore } from '../../../src/store/pack_store';
import { PACK, Session, equalBytes, reference, storeFor } from './fixture';

const BIG = 'onnx/painter.onnx'; // 938 155 bytes: 15 chunks of 64 KiB

/** Settles with `p`, or with 'stuck' after `ms` (a wait that never ends must fail the test, not hang it). */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'stuck'> {
  return Promise.race([p, new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), ms))]);
}

/** Holds the pack's write lock (as another tab downloading it would) until `release` is called. */
async function holdLock(store: PackStore): Promise<() => void> {
  let release!: () => void;
  let held!: () => void;
  const taken = new Promise<void>((r) => (held = r));
  void navigator.locks.request(`rg-store:${store.weights.dbName}:${PACK}`, () => {
    held();
    return new Promise<void>((r) => (release = r));
  });
  await taken;
  return release;
}

/** Record and chunks of a file agree: the record claims exactly the bytes its chunks hold. */
async function consistent(store: PackStore, path: string): Promise<{ stored: number; chunkBytes: number }> {
  const rec = await store.weights.fileRecord(PACK, path);
  const chunks = await store.weights.readChunks(PACK, path);
  return { stored: rec?.stored ?? 0, chunkBytes: chunks.reduce((a, c) => a + c.byteLength, 0) };
}

describe('cancel while a pack loads', async () => {
  const ref = await reference();
  const bigEntry = ref.manifest.files.find((f) => f.path === BIG)!;

  it('a cancel mid-download ends the load at once; the store stays consistent; the next load resumes', async () => {
    const s = new Session();
    // About 2.3 s for the whole file: the cancel surely arrives mid-download.
    await s.plan({ trickle: [{ path: `models/${PACK}/${BIG}`, bytes: 4096, everyMs: 10 }] });
    const store = storeFor(s);
    const ctl = new AbortController();
    let abortedAt = 0;
    const src = store.source(PACK, { signal: () => ctl.signal });
    const load = src.file(BIG, (p) => {
      if (!abortedAt && p.loaded >= 150_000) {
        abortedAt = performance.now();
        ctl.abort();
      }
    });
    const err = await within(
      load.catch((e: unknown) => e),
      10_000,
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(performance.now() - abortedAt).toBeLessThan(1000);

    const rec = await store.weights.fileRecord(PACK, BIG);
    expect(rec?.state).toBe('partial');
    const { stored, chunkBytes } = await consistent(store, BIG);
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(bigEntry.bytes);
    expect(chunkBytes).toBe(stored);

    await s.plan({});
    const bytes = await store.source(PACK).file(BIG);
    expect(equalBytes(bytes, await ref.file(BIG))).toBe(true);
    // The server logs a request when it ends; the cancelled one may not be logged yet, the resumed one is last.
    expect((await s.log()).filter((e) => e.path === BIG).at(-1)?.range).toBe(`bytes=${stored}-`);
    expect((await store.verify(PACK, { refetch: false })).failed).toEqual([]);
  });

  it('a source kept by a cached model obeys the signal of the run in progress, not the first run', async () => {
    const s = new Session();
    const store = storeFor(s);
    let current = new AbortController();
    // The model cache keeps the source of the run that loaded the model; later runs load files through it.
    const kept = store.source(PACK, { signal: () => current.signal });
    await kept.file('config.json');
    current.abort(); // the first run is cancelled after the model was loaded
    await expect(kept.file('tokenizer.json')).rejects.toBeInstanceOf(CancelledError);
    current = new AbortController(); // a later run, not cancelled: the file on first use loads
    const bytes = await kept.file(BIG);
    expect(bytes.byteLength).toBe(bigEntry.bytes);
    expect((await consistent(store, BIG)).chunkBytes).toBe(bigEntry.bytes);
  });

  it('waiting for another context holding the pack lock says so; a cancel ends the wait at once', async () => {
    const s = new Session();
    const store = storeFor(s);
    await store.source(PACK).manifest(); // the manifest is cached; the files are not
    const release = await holdLock(store);
    const ctl = new AbortController();
    let waits = 0;
    const src = store.source(PACK, { signal: ctl.signal, onWaitForLock: () => waits++ });
    const load = src.file(BIG).catch((e: unknown) => e);
    await expect.poll(() => waits, { timeout: 5000 }).toBe(1);
    const t0 = performance.now();
    ctl.abort();
    const err = await within(load, 3000);
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as CancelledError).message).toContain('waiting for another tab');
    expect(performance.now() - t0).toBeLessThan(1000);
    // Nothing was fetched or written while waiting.
    expect((await s.log()).filter((e) => e.path === BIG)).toEqual([]);
    expect(await store.weights.fileRecord(PACK, BIG)).toBeUndefined();

    // Once the other context is done, a load proceeds (a wait without a cancel ends when the lock is free), and the
    // caller hears that the wait is over.
    const said: boolean[] = [];
    const next = store.source(PACK, { onWaitForLock: (_, waiting) => said.push(waiting) }).file(BIG);
    await expect.poll(() => said).toEqual([true]);
    release();
    expect((await next).byteLength).toBe(bigEntry.bytes);
    expect(said).toEqual([true, false]);
  });

  it('a cancel during Verify stops inside the file being hashed, and the pack stays whole', async () => {
    const s = new Session();
    const store = storeFor(s);
    await store.download(PACK);
    const last = ref.manifest.files.at(-1)!.path;
    const ctl = new AbortController();
    // The cancel arrives while the last file is being hashed: before, the hash ran to the end and Verify "passed".
    const err = await store
      .verify(PACK, { signal: ctl.signal, onFile: (path) => path === last && ctl.abort() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect((await store.verify(PACK, { refetch: false })).failed).toEqual([]);
  });
});
