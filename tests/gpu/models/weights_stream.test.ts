// The reasoner's and the painter's weights streamed into the GPU (issue #18): read back buffer by buffer, the
// streamed upload is bit-identical to the whole-file upload (f32, int4 and int8 made at load or stored, forced row
// shards), through the network (FetchPackSource) and through the weights store with 64 KiB chunks, where the CPU
// holds at most about one chunk at a time; a flipped byte in a cached chunk is INTEGRITY offline and a silent
// re-fetch online; a cancel between chunks ends the load with CancelledError. No case leaves a buffer behind.
import { describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { readBuffer } from '../../../src/gpu/readback';
import {
  loadReasonerWeights,
  streamReasonerWeights,
  uploadReasonerWeights,
  type ReasonerWeightOptions,
  type ReasonerWeights,
} from '../../../src/models/reasoner/weights';
import { reasonerWeightPaths, type WeightVariant } from '../../../src/packs/manifest';
import { parseSafetensors, tensorData } from '../../../src/packs/safetensors';
import { toWeightData, weightArrays } from '../../../src/kernels/weight_data';
import { writeSafetensors } from '../../helpers/safetensors';
import { mulberry32 } from '../../helpers/rng';
import { CancelledError, RgError } from '../../../src/errors';
import { chunkKey } from '../../../src/store/weights';
import type { PackStore } from '../../../src/store/pack_store';
import {
  loadPainterWeights,
  streamPainterWeights,
  uploadPainterWeights,
  type PainterWeights,
} from '../../../src/models/painter/weights';
import { tinyRandom } from './reasoner_fixtures';
import { FetchPackSource } from '../../../src/packs/source';
import { CHUNK, PACK, Session, storeFor, type Plan } from '../store/fixture';

const device = await acquireDevice();
const manifest = await tinyRandom().manifest();
const cfg = manifest.reasoner;
const PATH = reasonerWeightPaths(manifest.paths).f32!;
const FILE_BYTES = manifest.files.find((f) => f.path === PATH)!.bytes;
const bytes = await tinyRandom().file(PATH);

/** Every GPU buffer `w` holds, once each, in the order its fields list them. */
function buffersOf(w: object): GPUBuffer[] {
  const seen = new Set<GPUBuffer>();
  const walk = (v: unknown): void => {
    if (v instanceof GPUBuffer) seen.add(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(w);
  return [...seen];
}

/** Labels, sizes and bytes of every buffer of `w`. */
async function snapshot(w: object): Promise<{ label: string; size: number; data: Uint8Array }[]> {
  return Promise.all(
    buffersOf(w).map(async (b) => ({
      label: b.label,
      size: b.size,
      data: new Uint8Array(await readBuffer(device, b)),
    })),
  );
}

/** Throws unless streamed `s` and whole-file `w` hold the same buffers byte for byte. */
async function expectSame(s: ReasonerWeights | PainterWeights, w: ReasonerWeights | PainterWeights): Promise<void> {
  expect(s.bytes).toBe(w.bytes);
  if ('format' in s && 'format' in w) {
    expect(s.format).toBe(w.format);
    expect(s.lmHead === s.embed).toBe(w.lmHead === w.embed);
  }
  const [a, b] = [await snapshot(s), await snapshot(w)];
  expect(a.length).toBeGreaterThan(10);
  expect(a.map((x) => [x.label, x.size])).toEqual(b.map((x) => [x.label, x.size]));
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i]!.data, b[i]!.data];
    let diff = -1;
    for (let j = 0; j < x.length && diff < 0; j++) if (x[j] !== y[j]) diff = j;
    expect(diff, `${a[i]!.label}: first differing byte`).toBe(-1);
  }
}

/** The reasoner file in `format` as tools/ writes a variant: matrices converted, norms and biases F32. */
function variantFile(format: WeightVariant): Uint8Array {
  const st = parseSafetensors(bytes);
  const tensors: Parameters<typeof writeSafetensors>[0] = [];
  for (const [name, info] of st.tensors) {
    const f32 = tensorData(bytes, st, name, 'F32');
    if (info.shape.length !== 2) {
      tensors.push([name, 'F32', info.shape, f32]);
      continue;
    }
    const [out, inn] = info.shape as [number, number];
    const prefix = name.slice(0, -'.weight'.length);
    const d = toWeightData(f32, out, inn, format);
    const { words, scale } = weightArrays(d);
    if (format === 'int8') {
      tensors.push([`${prefix}.weight_q`, 'I8', [out, inn], words]);
      tensors.push([`${prefix}.weight_scale`, 'F32', [out], scale!]);
    } else if (format === 'int4') {
      tensors.push([`${prefix}.weight_q4`, 'U8', [out, inn / 2], words]);
      tensors.push([`${prefix}.weight_scale`, 'F32', [out, inn / 32], scale!]);
    } else tensors.push([name, format === 'f16' ? 'F16' : 'BF16', [out, inn], words]);
  }
  return writeSafetensors(tensors);
}

/** `file` in pieces of seeded random sizes from 1 byte to 3 KiB (most not a multiple of 4). */
async function* randomPieces(file: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
  const r = mulberry32(seed);
  for (let at = 0; at < file.length;) {
    const n = 1 + Math.floor(r() * 3072);
    // A copy at an odd offset of its own buffer, as a network read may hand over.
    const piece = new Uint8Array(n + 1).subarray(1);
    piece.set(file.subarray(at, at + n));
    yield piece.subarray(0, Math.min(n, file.length - at));
    at += n;
  }
}

/** Flips one byte of a stored chunk behind the store's back (as disk corruption would). */
async function flipByte(store: PackStore, chunk: number, offset: number, path = PATH): Promise<void> {
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

/** A store with the reasoner file (or `path`) cached in 64 KiB chunks. */
async function cachedStore(path = PATH): Promise<{ session: Session; store: PackStore }> {
  const session = new Session();
  const store = storeFor(session);
  await store.source(PACK).file(path);
  expect((await store.weights.fileRecord(PACK, path))?.state).toBe('cached');
  await session.plan({}); // clears the request log
  return { session, store };
}

describe('streamed reasoner weights', () => {
  it.each([
    ['f32', {}],
    ['int4', { format: 'int4' }],
    ['int8', { format: 'int8' }],
    ['f32 in shards', { format: 'f32', maxBindingBytes: 8192 }],
    ['int4 in shards', { format: 'int4', maxBindingBytes: 4096 }],
  ] as [string, ReasonerWeightOptions][])(
    '%s over the network: bit-identical to the whole-file upload',
    async (_, opts) => {
      const before = liveBufferCount(device);
      const s = (await loadReasonerWeights(device, tinyRandom(), undefined, opts))!;
      const w = uploadReasonerWeights(device, bytes, cfg, `${PACK}/${PATH}`, opts);
      try {
        if (opts.maxBindingBytes) expect('shards' in s.embed).toBe(true);
        await expectSame(s, w);
      } finally {
        s.dispose();
        w.dispose();
      }
      expect(liveBufferCount(device)).toBe(before);
    },
  );

  it.each(['int8', 'int4', 'f16'] as const)(
    'a stored %s file in odd pieces (and in shards): bit-identical to its whole-file upload',
    async (format) => {
      const file = variantFile(format);
      const before = liveBufferCount(device);
      for (const maxBindingBytes of [undefined, 4096]) {
        const s = await streamReasonerWeights(device, randomPieces(file, 11), cfg, format, { maxBindingBytes });
        const w = uploadReasonerWeights(device, file, cfg, format, { maxBindingBytes });
        try {
          expect(s.format).toBe(format);
          expect(s.stats.pieces).toBeGreaterThan(file.length / 3072);
          await expectSame(s, w);
        } finally {
          s.dispose();
          w.dispose();
        }
      }
      // Only an f32 file converts: refused from its header, before any buffer.
      const err = await streamReasonerWeights(device, randomPieces(file, 12), cfg, format, { format: 'bf16' }).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'BAD_INPUT', field: 'reasonerWeights' });
      expect(liveBufferCount(device)).toBe(before);
    },
  );

  it('a file served damaged (FetchPackSource): INTEGRITY from the stream, no buffer left', async () => {
    const session = new Session();
    const src = new FetchPackSource(PACK, session.packBase());
    const flipped = bytes.slice();
    flipped[500_000]! ^= 0x10;
    let b64 = '';
    for (let i = 0; i < flipped.length; i += 0x8000) b64 += String.fromCharCode(...flipped.subarray(i, i + 0x8000));
    const served = `models/${PACK}/${PATH}`;
    const before = liveBufferCount(device);
    for (const [plan, message] of [
      [{ overrides: [{ path: served, base64: btoa(b64) }] }, /failed its sha256 check/],
      [{ sizes: [{ path: served, delta: 8 }] }, /has more than 824120 bytes; the manifest says 824120$/],
      [{ sizes: [{ path: served, delta: -8 }] }, /has 824112 bytes; the manifest says 824120$/],
    ] as [Plan, RegExp][]) {
      await session.plan(plan);
      const err = await loadReasonerWeights(device, src, undefined, { format: 'int4' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RgError);
      expect(err).toMatchObject({ code: 'INTEGRITY' });
      expect((err as Error).message).toMatch(message);
      expect(liveBufferCount(device)).toBe(before);
    }
  });

  it('from the store in 64 KiB chunks: one chunk at a time, the file never whole', async () => {
    const { session, store } = await cachedStore();
    const before = liveBufferCount(device);
    for (const opts of [{ format: 'f32' }, { format: 'int4', maxBindingBytes: 4096 }] as ReasonerWeightOptions[]) {
      const s = (await loadReasonerWeights(device, store.source(PACK, { network: false }), undefined, opts))!;
      const w = uploadReasonerWeights(device, bytes, cfg, `${PACK}/${PATH}`, opts);
      try {
        await expectSame(s, w);
        console.log(
          `streamed ${FILE_BYTES} bytes (${opts.format}) in ${s.stats.pieces} pieces of ≤ ${CHUNK}: ` +
            `peak staging ${s.stats.peakStagingBytes} bytes`,
        );
        expect(s.stats.pieces).toBe(Math.ceil(FILE_BYTES / CHUNK));
        // A chunk, the header while it is parsed, a partial row, a converted block: under 1.5 chunks, a ninth of
        // the file.
        expect(s.stats.peakStagingBytes).toBeGreaterThanOrEqual(CHUNK);
        expect(s.stats.peakStagingBytes).toBeLessThanOrEqual(1.5 * CHUNK);
      } finally {
        s.dispose();
        w.dispose();
      }
    }
    expect(liveBufferCount(device)).toBe(before);
    expect(await session.log()).toEqual([]);
  });

  it('a flipped byte in a cached chunk: INTEGRITY offline, nothing left; online a silent re-fetch', async () => {
    const { session, store } = await cachedStore();
    const before = liveBufferCount(device);
    await flipByte(store, 5, 1234);
    const err = await loadReasonerWeights(device, store.source(PACK, { network: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RgError);
    expect(err).toMatchObject({ code: 'INTEGRITY' });
    expect((err as Error).message).toContain('failed its sha256 check');
    expect(liveBufferCount(device)).toBe(before);
    expect(await store.weights.fileRecord(PACK, PATH)).toBeUndefined(); // dropped
    expect(await session.log()).toEqual([]);

    await store.source(PACK).file(PATH);
    await session.plan({});
    // Damaged inside the header: the loader refuses the file before its end; the copy is checked, found damaged,
    // dropped, fetched again, and the load starts over.
    await flipByte(store, 0, 12);
    const online = store.source(PACK);
    const s = (await loadReasonerWeights(device, online))!;
    const w = uploadReasonerWeights(device, bytes, cfg);
    try {
      await expectSame(s, w);
      expect(online.fetchedFiles).toBe(1);
      expect((await session.log()).map((e) => e.path)).toEqual([PATH]);
    } finally {
      s.dispose();
      w.dispose();
    }
    expect(liveBufferCount(device)).toBe(before);
  });

  it('a cancel between chunks: CancelledError, no buffer left, the cached file kept', async () => {
    const { store } = await cachedStore();
    const before = liveBufferCount(device);
    const ctl = new AbortController();
    const read = store.weights.readChunk.bind(store.weights);
    let reads = 0;
    store.weights.readChunk = async (...a) => {
      if (++reads === 4) ctl.abort();
      return read(...a);
    };
    const src = store.source(PACK, { signal: () => ctl.signal });
    const err = await loadReasonerWeights(device, src, undefined, { format: 'int4' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(reads).toBe(4);
    expect(liveBufferCount(device)).toBe(before);
    expect((await store.weights.fileRecord(PACK, PATH))?.state).toBe('cached');
  });
});

describe('streamed painter weights', () => {
  it.each(['f32', 'int8', 'int4'] as const)(
    '%s over the network: bit-identical to the whole-file upload',
    async (variant) => {
      const before = liveBufferCount(device);
      const file = await tinyRandom().file(manifest.paths.painter_weights[variant]!);
      const s = await loadPainterWeights(device, tinyRandom(), variant);
      const w = uploadPainterWeights(device, file, manifest.connector, manifest.painter, variant);
      try {
        await expectSame(s, w);
      } finally {
        s.dispose();
        w.dispose();
      }
      expect(liveBufferCount(device)).toBe(before);
    },
  );

  it('from the store in 64 KiB chunks: one chunk at a time; a damaged copy is fetched again', async () => {
    const path = manifest.paths.painter_weights.f32!;
    const size = manifest.files.find((f) => f.path === path)!.bytes;
    const { session, store } = await cachedStore(path);
    const file = await tinyRandom().file(path);
    const before = liveBufferCount(device);
    await flipByte(store, 7, 99, path);
    const src = store.source(PACK);
    const s = await loadPainterWeights(device, src, 'f32');
    const w = uploadPainterWeights(device, file, manifest.connector, manifest.painter, 'f32');
    try {
      await expectSame(s, w);
      expect(src.fetchedFiles).toBe(1);
      expect((await session.log()).map((e) => e.path)).toEqual([path]);
      console.log(
        `streamed painter ${size} bytes in ${s.stats.pieces} pieces of ≤ ${CHUNK}: ` +
          `peak staging ${s.stats.peakStagingBytes} bytes`,
      );
      expect(s.stats.pieces).toBe(Math.ceil(size / CHUNK));
      expect(s.stats.peakStagingBytes).toBeLessThanOrEqual(1.5 * CHUNK);
    } finally {
      s.dispose();
      w.dispose();
    }
    expect(liveBufferCount(device)).toBe(before);
  });

  it('a file cut short: INTEGRITY at its end, no buffer left', async () => {
    const file = await tinyRandom().file(manifest.paths.painter_weights.int4!);
    const before = liveBufferCount(device);
    const err = await streamPainterWeights(
      device,
      randomPieces(file.subarray(0, file.length - 100), 5),
      manifest.connector,
      manifest.painter,
      'int4',
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INTEGRITY' });
    expect((err as Error).message).toMatch(
      /^painter\.int4\.safetensors: data section ends at \d+, file has \d+ bytes$/,
    );
    expect(liveBufferCount(device)).toBe(before);
  });
});
