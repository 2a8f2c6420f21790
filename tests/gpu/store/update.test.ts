// An app update that ships another version of a pack: the registry pins the new manifest's sha256, the store notices
// that the cached manifest is not the pinned one, fetches the new manifest, keeps the stored files it still lists
// unchanged, drops the others, and a download then fetches only the changed files. Real IndexedDB, real HTTP.
import { describe, expect, it } from 'vitest';
import { RgError } from '../../../src/errors';
import { PackStore } from '../../../src/store/pack_store';
import { PACK, Session, reference, storeFor } from './fixture';

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

describe('manifest updates', async () => {
  const ref = await reference();
  const v1 = new Uint8Array(await (await fetch(`/models/${PACK}/manifest.json`)).arrayBuffer());
  const v1sha = await sha256Hex(v1);
  // Version 2 changes one file (README.md gets a line) and so its manifest entry and total.
  const CHANGED = 'README.md';
  const readme2 = new TextEncoder().encode(new TextDecoder().decode(await ref.file(CHANGED)) + '\nVersion 2.\n');
  const m2 = structuredClone(ref.manifest);
  const entry = m2.files.find((f) => f.path === CHANGED)!;
  m2.total_bytes += readme2.byteLength - entry.bytes;
  Object.assign(entry, { bytes: readme2.byteLength, sha256: await sha256Hex(readme2) });
  const v2 = new TextEncoder().encode(JSON.stringify(m2, null, 2));
  const v2sha = await sha256Hex(v2);

  const replaceTitle =
    'replaces a cached manifest the app no longer pins, keeping unchanged files and fetching only the changed one';
  it(replaceTitle, async () => {
    const s = new Session();
    const old = storeFor(s, { pinnedManifest: () => v1sha });
    expect((await old.download(PACK)).state).toBe('cached');

    // The app is updated: it pins version 2, and the server has version 2.
    await s.plan({
      overrides: [
        { path: `models/${PACK}/manifest.json`, base64: base64(v2) },
        { path: `models/${PACK}/${CHANGED}`, base64: base64(readme2) },
      ],
    });
    const updated = storeFor(s, { weights: old.weights, pinnedManifest: () => v2sha });
    const m = await updated.manifest(PACK);
    expect(m.sha256).toBe(v2sha);
    expect(updated.lastUpdate(PACK)).toEqual({ from: v1sha, to: v2sha, dropped: [CHANGED] });
    const idx = await updated.index(PACK, m.manifest);
    expect(idx.state).toBe('partial');
    expect(idx.files.filter((f) => f.state !== 'cached').map((f) => f.path)).toEqual([CHANGED]);

    expect((await updated.download(PACK)).state).toBe('cached');
    const fetched = (await s.log()).filter((e) => e.path !== 'manifest.json').map((e) => e.path);
    expect(fetched).toEqual([CHANGED]);
    expect((await updated.verify(PACK)).failed).toEqual([]);
    // A file loaded on first use is checked against the manifest in force (version 2).
    const src = new PackStore({
      weights: old.weights,
      baseFor: () => s.packBase(),
      pinnedManifest: () => v2sha,
    }).source(PACK, { network: false });
    expect(await src.manifestSha256()).toBe(v2sha);
    expect(new TextDecoder().decode(await src.file(CHANGED))).toContain('Version 2.');
  });

  const offlineTitle =
    'keeps the cached manifest in force while the pinned one cannot be fetched (offline), ' +
    'and refuses a served manifest that is not the pinned one';
  it(offlineTitle, async () => {
    const s = new Session();
    const old = storeFor(s, { pinnedManifest: () => v1sha });
    await old.download(PACK);
    const offline = storeFor(s, {
      weights: old.weights,
      pinnedManifest: () => v2sha,
      fetchFn: async () => {
        throw new TypeError('Failed to fetch');
      },
    });
    expect((await offline.manifest(PACK)).sha256).toBe(v1sha);
    expect(offline.lastUpdate(PACK)).toBeUndefined();
    // Online, but the server still has version 1 while the app pins version 2: INTEGRITY, nothing dropped.
    const mismatch = storeFor(s, { weights: old.weights, pinnedManifest: () => v2sha });
    const err = await mismatch.manifest(PACK).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RgError);
    expect((err as RgError).code).toBe('INTEGRITY');
    expect((await old.index(PACK, ref.manifest)).state).toBe('cached');
  });
});
