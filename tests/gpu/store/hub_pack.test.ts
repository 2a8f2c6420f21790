// A repo id converted into a pack inside the browser (src/convert/hub_pack.ts), against the loopback Hub of the test
// run (tests/helpers/hub_repos.ts: the MindOmni replica with Qwen's real vocabulary, and a Qwen2 reasoner replica),
// on real IndexedDB: everything that can refuse a repo (a reasoner alone, a pack id already listed, the memory plan,
// the storage estimate) refuses it before a weight byte is fetched and stores nothing; a cancel mid-shard keeps the
// staged files and the next run resumes from them (fetching less than the whole download); the finished pack is
// listed, its manifest pinned, every file cached with the manifest's sha256 and readable through the store's own
// source, and the staging copy deleted; a lost connection keeps the staging (listed as a stopped conversion, which
// can be discarded). A cascade pair whose painter is not OmniGen's is refused before any weight byte.
import { inject, describe, expect, it } from 'vitest';
import { CancelledError, RgError } from '../../../src/errors';
import {
  discardStaged,
  hubToPack,
  packIdFor,
  stagedConversions,
  type HubPackOptions,
} from '../../../src/convert/hub_pack';
import { admitPack, setPlanSettings } from '../../../src/models/plan';
import { AddedPacks } from '../../../src/store/added_packs';
import { PackStore } from '../../../src/store/pack_store';
import type { PackEntry } from '../../../src/packs/registry';
import { StagingMeter } from '../../../src/packs/safetensors_stream';
import { WeightStore } from '../../../src/store/weights';
import { CHUNK, dbName } from './fixture';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The loopback Hub's address (tests/helpers/hub_repos.ts, a globalSetup of the gpu project). */
    hubServer: string;
  }
}

const HUB = inject('hubServer');
const REPO = 'test/mindomni-pack';
const SHARD = 'mllm/model-00001-of-00002.safetensors';

/** The error `p` rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<RgError> {
  return p.then(
    () => expect.fail('expected a refusal'),
    (e: unknown) => e as RgError,
  );
}

/** A fetch that counts the weight bytes it asked for beyond the safetensors headers (open-ended Range or none). */
function countingFetch(): { fetch: typeof fetch; downloads: string[] } {
  const downloads: string[] = [];
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    const range = new Headers(init?.headers).get('Range');
    if (url.includes('/resolve/') && url.endsWith('.safetensors') && !/^bytes=\d+-\d+$/.test(range ?? ''))
      downloads.push(url.split('/resolve/')[1]!);
    return fetch(input, init);
  }) as typeof fetch;
  return { fetch: f, downloads };
}

function setup() {
  let list: PackEntry[] = [];
  const store = new WeightStore({ dbName: dbName(), chunkSize: CHUNK });
  const added = new AddedPacks({ read: async () => list, write: async (l) => void (list = l) });
  const opts = (extra: Partial<HubPackOptions> = {}): HubPackOptions => ({
    hub: HUB,
    weights: 'int4',
    store,
    added,
    admit: (m) => admitPack(m),
    ...extra,
  });
  const allKeys = () => store.idb('readonly', (s) => promisify(s.getAllKeys()));
  return { store, added, opts, allKeys };
}

function promisify<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((ok, bad) => {
    r.onsuccess = () => ok(r.result);
    r.onerror = () => bad(r.error);
  });
}

describe('a Hugging Face repo converted into a pack in the tab', () => {
  const refusals =
    'refusals before any weight byte: a reasoner alone, a listed id, the memory plan, the storage estimate';
  it(refusals, async () => {
    const { opts, added, allKeys } = setup();
    const c = countingFetch();
    let e = await rejection(hubToPack('test/qwen2-replica', opts({ fetch: c.fetch })));
    expect(e).toMatchObject({ code: 'UNSUPPORTED_PACK', field: 'repo' });
    expect(e.message).toContain("is not MindOmni's folder");
    expect(e.hint).toContain('cascade');

    // The memory plan, on the manifest the conversion would write: a budget of 1 MB refuses it with the numbers.
    setPlanSettings({ budgetBytes: 1_000_000 });
    try {
      e = await rejection(hubToPack(REPO, opts({ fetch: c.fetch })));
    } finally {
      setPlanSettings({});
    }
    expect(e.code).toBe('MEMORY_PLAN');
    expect(e.message).toMatch(/\d/);

    // The storage estimate (download + the converted files) before anything is fetched.
    const tiny = async () => ({ usage: 0, quota: 1_000_000 });
    e = await rejection(hubToPack(REPO, opts({ fetch: c.fetch, estimate: tiny })));
    expect(e.code).toBe('QUOTA');
    expect(e.message).toContain('Nothing was downloaded');

    // An id already listed (a pack added from elsewhere under the same id).
    const id = packIdFor(REPO, 'int4');
    await added.record({ id, label: 'x', base: 'https://example.invalid/x/', shipped: false, testOnly: false });
    e = await rejection(hubToPack(REPO, opts({ fetch: c.fetch })));
    expect(e).toMatchObject({ code: 'BAD_INPUT', field: 'repo' });
    expect(e.message).toContain('already listed');

    expect(c.downloads).toEqual([]);
    expect(await allKeys()).toEqual([]);
  });

  const resume =
    'cancel mid-shard keeps the staged files; the next run resumes, stores the pack and deletes the staging';
  it(resume, async () => {
    const { store, added, opts, allKeys } = setup();
    const c = new AbortController();
    let seen = 0;
    // Cancel once 200 KB of the first mllm shard have arrived.
    const onProgress: HubPackOptions['onProgress'] = (p) => {
      if (p.phase !== 'download' || p.progress.file.path !== SHARD) return;
      seen = p.progress.file.loaded;
      if (seen > 200_000) c.abort(new CancelledError('Download cancelled'));
    };
    const first = countingFetch();
    const e = await rejection(hubToPack(REPO, opts({ fetch: first.fetch, signal: c.signal, onProgress })));
    expect(e).toBeInstanceOf(CancelledError);
    const staged = (await allKeys()).map((k) => JSON.stringify(k));
    expect(staged.some((k) => k.includes('hub-staging') && k.includes(SHARD))).toBe(true);
    expect(staged.some((k) => !k.includes('hub-staging'))).toBe(false);
    const stopped = await stagedConversions(store);
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({ repo: REPO, sha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(stopped[0]!.storedBytes).toBeGreaterThan(200_000);

    const events: string[] = [];
    const meter = new StagingMeter();
    const r = await hubToPack(REPO, opts({ onProgress: (p) => void events.push(p.phase), meter, blockBytes: CHUNK }));
    console.log(`conversion from the store: at most ${meter.peak} bytes held by the converter`);
    // Bounded memory: the converter's row blocks, scales and headers (what its meter counts; the configs, the
    // tokenizer and the VAE graph are held whole, as in rg convert) stay far below the ~20 MB of weights it streams.
    expect(meter.peak).toBeLessThan(1_000_000);
    expect(meter.current).toBe(0);
    const id = packIdFor(REPO, 'int4');
    expect(r).toMatchObject({ id, repo: REPO });
    expect(events).toContain('download');
    expect(events.at(-1)).toBe('convert');
    // Resumed: the second run fetched less than the weights the Hub lists (the first run's bytes were kept).
    const api = await (await fetch(`${HUB}api/models/${REPO}/revision/main?blobs=true`)).json();
    const lfs = (api.siblings as { lfs?: { size: number } }[]).reduce((a, s) => a + (s.lfs?.size ?? 0), 0);
    expect(r.fetchedBytes).toBeGreaterThan(0);
    expect(r.fetchedBytes).toBeLessThan(lfs - 200_000);
    expect(await store.fileRecords(`hub-staging/${REPO}@${r.sha}`)).toEqual([]);
    expect(await stagedConversions(store)).toEqual([]);

    // Listed with its manifest pinned; every file cached with the manifest's sha256 and readable through a source.
    const entry = (await added.list()).find((p) => p.id === id)!;
    expect(entry.base).toBe(`https://converted.invalid/${id}/`);
    expect(entry.addedFrom).toContain(`${REPO}@${r.sha.slice(0, 12)}`);
    const ps = new PackStore({ weights: store, baseFor: () => entry.base, pinnedManifest: () => entry.manifestSha256 });
    const idx = await ps.index(id, r.manifest);
    expect(idx.state).toBe('cached');
    expect(r.manifest.source).toBe(`${REPO}@${r.sha}`);
    expect(r.manifest.licence).toBe('mit');
    const src = ps.source(id);
    for (const f of r.manifest.files) expect((await src.file(f.path)).byteLength).toBe(f.bytes);
    // Nothing else is stored: the staging copy is gone.
    expect((await allKeys()).map((k) => JSON.stringify(k)).filter((k) => !k.includes(id))).toEqual([]);
  });

  // (A tampered file, INTEGRITY, deletes the staging: tests/e2e/hub_convert.spec.ts.)
  const lost =
    'a lost connection keeps the staging (NETWORK), listed as a stopped conversion; discarding it deletes it';
  it(lost, async () => {
    const { store, opts, allKeys } = setup();
    const drop = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      const range = new Headers(init?.headers).get('Range');
      if (url.endsWith(SHARD) && !/^bytes=\d+-\d+$/.test(range ?? '')) throw new TypeError('Failed to fetch');
      return fetch(input, init);
    }) as typeof fetch;
    const e = await rejection(hubToPack(REPO, opts({ fetch: drop, retryDelayMs: 1 })));
    expect(e.code).toBe('NETWORK');
    // Said with the repo's name and a conversion's hint, not the staging id and a pack download's.
    expect(e.message).toContain(`${REPO}@`);
    expect(e.message).not.toContain('hub-staging');
    expect(e.hint).toContain('convert again');
    const kept = (await allKeys()).map((k) => JSON.stringify(k));
    expect(kept.some((k) => k.includes('hub-staging'))).toBe(true);
    // Discarding a stopped conversion deletes its download, and only it.
    const [stopped] = await stagedConversions(store);
    await store.putManifest({ packId: 'other', bytes: new Uint8Array([1]), sha256: 'x', storedAt: 0 });
    // A half-written pack of the repo (a tab closed while converting) goes too; a listed one never.
    const half = packIdFor(REPO, 'int8');
    const listed = packIdFor(REPO, 'f16');
    for (const id of [half, listed]) await store.putRecord(store.newRecord(id, { path: 'a', bytes: 1, sha256: '' }));
    await discardStaged(store, stopped!.repo, stopped!.sha, new Set([listed]));
    expect((await allKeys()).map((k) => JSON.stringify(k)).sort()).toEqual(
      [JSON.stringify(['f', listed, 'a']), JSON.stringify(['m', 'other'])].sort(),
    );
    await store.deletePack('other');
    await store.deletePack(listed);
    expect(await allKeys()).toEqual([]);
  });
  // (The pair converting into one cascade pack in the tab, listed and run: tests/e2e/hub_convert.spec.ts.)
  it("a cascade pair whose painter repo is not OmniGen's is refused before any weight byte", async () => {
    const { opts, allKeys } = setup();
    const c = countingFetch();
    const e = await rejection(
      hubToPack('test/qwen-vl-text', opts({ painter: 'test/qwen2-replica', weights: 'int8', fetch: c.fetch })),
    );
    expect(e.code).toBe('UNSUPPORTED_PACK');
    expect(e.message).toContain('config.json: model_type "qwen2" is not supported');
    expect(c.downloads).toEqual([]);
    expect(await allKeys()).toEqual([]);
  });
});
