import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { RgError } from '../../../src/errors';
import {
  AddedPacks,
  FOLDER_BASE,
  MAX_MANIFEST_BYTES,
  folderFetch,
  isFolderPack,
  packFolderUrl,
  type AddedPackStorage,
} from '../../../src/store/added_packs';
import { findPack, packFileUrl, setAddedPacks, type PackEntry } from '../../../src/packs/registry';
import { sha256Hex } from '../../../src/packs/source';

const TINY = readFileSync(new URL('../../../public/models/tiny-random/manifest.json', import.meta.url), 'utf8');
/** tiny-random's manifest under another id: a valid pack that the app does not ship. */
const COPY = TINY.replace('"id": "tiny-random"', '"id": "tiny-copy"');

function memoryStorage(initial?: unknown): AddedPackStorage & { value: unknown; writes: number } {
  const s = {
    value: initial,
    writes: 0,
    read: async () => s.value,
    write: async (list: PackEntry[]) => {
      s.value = structuredClone(list);
      s.writes++;
    },
  };
  return s;
}

/** A fetch that serves `files` (URL → body) and 404 for anything else; records the URLs asked for. */
function server(files: Record<string, string | Uint8Array>, headers: Record<string, string> = {}) {
  const asked: string[] = [];
  const fetch = (async (input: RequestInfo | URL) => {
    const url = String(input);
    asked.push(url);
    const body = files[url];
    if (body === undefined) return new Response('not here', { status: 404 });
    return new Response(body as BodyInit, { status: 200, headers });
  }) as typeof globalThis.fetch;
  return { fetch, asked };
}

async function code(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RgError);
    const r = e as RgError;
    return { code: r.code, message: r.message, hint: r.hint };
  }
  throw new Error('expected a refusal');
}

afterEach(() => setAddedPacks([]));

describe('packFolderUrl', () => {
  it('takes a folder or its manifest.json and gives the folder with a trailing slash', () => {
    expect(packFolderUrl('https://h.example/p/x')).toBe('https://h.example/p/x/');
    expect(packFolderUrl('  https://h.example/p/x/  ')).toBe('https://h.example/p/x/');
    expect(packFolderUrl('https://h.example/p/x/manifest.json')).toBe('https://h.example/p/x/');
    expect(packFolderUrl('http://127.0.0.1:8080/manifest.json')).toBe('http://127.0.0.1:8080/');
    expect(packFolderUrl('http://localhost:9000/p')).toBe('http://localhost:9000/p/');
  });

  it.each([
    ['', 'is not a pack address'],
    ['models/tiny', 'is not a URL'],
    ['ftp://h.example/p/', 'uses ftp:'],
    ['file:///tmp/pack/', 'uses file:'],
    ['javascript:alert(1)', 'uses javascript:'],
    ['http://packs.example/p/', 'uses http: on another machine'],
    ['https://me:secret@h.example/p/', 'user name or password'],
    ['https://h.example/p/?v=2', 'query or a fragment'],
    ['https://h.example/p/#x', 'query or a fragment'],
  ])('refuses %j (%s)', (input, why) => {
    let err: unknown;
    try {
      packFolderUrl(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RgError);
    expect((err as RgError).code).toBe('BAD_INPUT');
    expect((err as RgError).field).toBe('packUrl');
    expect((err as RgError).message).toContain(why);
  });
});

describe('AddedPacks', () => {
  const base = 'https://packs.example/copy/';

  it('adds a pack from its manifest alone, pins the manifest, and the registry finds it', async () => {
    const storage = memoryStorage();
    const { fetch, asked } = server({ [`${base}manifest.json`]: COPY });
    const admitted: string[] = [];
    const r = await new AddedPacks(storage).add('https://packs.example/copy/manifest.json', {
      fetch,
      admit: (m) => admitted.push(m.id),
    });
    expect(asked).toEqual([`${base}manifest.json`]); // nothing but the manifest
    expect(admitted).toEqual(['tiny-copy']);
    expect(r.replaced).toBe(false);
    expect(r.entry).toEqual({
      id: 'tiny-copy',
      label: JSON.parse(COPY).name,
      base,
      shipped: false,
      testOnly: false,
      manifestSha256: await sha256Hex(new TextEncoder().encode(COPY)),
      addedFrom: base,
    });
    expect(storage.value).toEqual([r.entry]);
    const found = findPack('tiny-copy');
    expect(found).toEqual(r.entry);
    expect(packFileUrl(found!, 'reasoner/config.json', '/app/')).toBe(`${base}reasoner/config.json`);
    // a fresh context reads the same list back
    setAddedPacks([]);
    expect(findPack('tiny-copy')).toBeUndefined();
    expect(await new AddedPacks(storage).list()).toEqual([r.entry]);
    expect(findPack('tiny-copy')).toEqual(r.entry);
  });

  it('adding the same folder again refreshes its entry (a new version is pinned afresh)', async () => {
    const storage = memoryStorage();
    const packs = new AddedPacks(storage);
    await packs.add(base, { fetch: server({ [`${base}manifest.json`]: COPY }).fetch });
    const v2 = COPY.replace('"description": "', '"description": "v2 ');
    const r = await packs.add(base, { fetch: server({ [`${base}manifest.json`]: v2 }).fetch });
    expect(r.replaced).toBe(true);
    expect(storage.value).toHaveLength(1);
    expect(r.entry.manifestSha256).toBe(await sha256Hex(new TextEncoder().encode(v2)));
  });

  it.each([
    ['a missing manifest', {}, 'BAD_INPUT', 'answered HTTP 404'],
    ['a file that is not JSON', { m: '<html>hello</html>' }, 'BAD_INPUT', 'is not JSON'],
    [
      'JSON that is not a pack manifest',
      { m: JSON.stringify({ format: 'rg-vlm-pack', id: 'x' }) },
      'BAD_INPUT',
      'is not a pack manifest: format_version',
    ],
    [
      'a manifest with a broken field',
      { m: COPY.replace('"total_bytes": ', '"total_bytes": 1') },
      'BAD_INPUT',
      'total_bytes',
    ],
    ['a shipped pack’s id', { m: TINY }, 'BAD_INPUT', 'is pack “tiny-random”, which this app ships'],
  ])('refuses %s and records nothing', async (_, files, want, text) => {
    const storage = memoryStorage();
    const body = (files as { m?: string }).m;
    const { fetch } = server(body === undefined ? {} : { [`${base}manifest.json`]: body });
    const e = await code(new AddedPacks(storage).add(base, { fetch }));
    expect(e.code).toBe(want);
    expect(e.message).toContain(text);
    expect(e.hint).toBeTruthy();
    expect(storage.writes).toBe(0);
    expect(findPack('tiny-copy')).toBeUndefined();
  });

  // The worker's admission (the memory plan on the device) is async: its refusal must be awaited, not dropped.
  it.each(['sync', 'async'])('refuses a pack the memory plan refuses (%s check), before recording it', async (kind) => {
    const storage = memoryStorage();
    const { fetch } = server({ [`${base}manifest.json`]: COPY });
    const refuse = () => {
      throw new RgError('MEMORY_PLAN', 'needs 9 GB, this device allows 4 GB');
    };
    const e = await code(
      new AddedPacks(storage).add(base, {
        fetch,
        admit: kind === 'sync' ? refuse : async () => refuse(),
      }),
    );
    expect(e).toMatchObject({ code: 'MEMORY_PLAN', message: 'needs 9 GB, this device allows 4 GB' });
    expect(storage.writes).toBe(0);
    expect(findPack('tiny-copy')).toBeUndefined();
  });

  it('refuses an id already added from another folder', async () => {
    const storage = memoryStorage();
    const packs = new AddedPacks(storage);
    await packs.add(base, { fetch: server({ [`${base}manifest.json`]: COPY }).fetch });
    const other = 'https://elsewhere.example/copy/';
    const e = await code(packs.add(other, { fetch: server({ [`${other}manifest.json`]: COPY }).fetch }));
    expect(e.message).toContain(`A pack “tiny-copy” was already added from ${base}`);
    expect(storage.writes).toBe(1);
    expect(findPack('tiny-copy')?.base).toBe(base);
  });

  it('refuses a manifest over the size bound, by its length or by what arrives', async () => {
    const big = new Uint8Array(MAX_MANIFEST_BYTES + 1).fill(32);
    const declared = server({ [`${base}manifest.json`]: big }, { 'content-length': String(big.byteLength) });
    let e = await code(new AddedPacks(memoryStorage()).add(base, { fetch: declared.fetch }));
    expect(e.message).toContain('too large for a pack manifest');
    const streamed = server({ [`${base}manifest.json`]: big }); // no length: counted as it arrives
    e = await code(new AddedPacks(memoryStorage()).add(base, { fetch: streamed.fetch }));
    expect(e.message).toContain('too large for a pack manifest');
  });

  it('a network failure is NETWORK with the address', async () => {
    const fetch = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof globalThis.fetch;
    const e = await code(new AddedPacks(memoryStorage()).add(base, { fetch }));
    expect(e.code).toBe('NETWORK');
    expect(e.message).toContain(`${base}manifest.json`);
    expect(e.hint).toContain('CORS');
  });

  it('removes an added pack; a shipped or unknown one is refused by name', async () => {
    const storage = memoryStorage();
    const packs = new AddedPacks(storage);
    await packs.add(base, { fetch: server({ [`${base}manifest.json`]: COPY }).fetch });
    expect((await code(packs.remove('tiny-random'))).message).toContain('ships with the app');
    expect((await code(packs.remove('nope'))).message).toContain('No pack nope was added');
    await packs.remove('tiny-copy');
    expect(storage.value).toEqual([]);
    expect(findPack('tiny-copy')).toBeUndefined();
  });

  it('a damaged record loses only the entries that do not parse', async () => {
    const good = {
      id: 'ok-pack',
      label: 'OK',
      base: 'https://h.example/ok/',
      manifestSha256: 'a'.repeat(64),
    };
    const storage = memoryStorage([
      good,
      { ...good, id: 'tiny-random' }, // a shipped id
      { ...good, id: 'bad id' },
      { ...good, id: 'other', base: 'file:///etc/' },
      { ...good, id: 'other2', base: 'https://h.example/x?y' },
      'junk',
      null,
      { ...good }, // a duplicate
    ]);
    const list = await new AddedPacks(storage).list();
    expect(list.map((p) => p.id)).toEqual(['ok-pack']);
    expect(list[0]).toMatchObject({ shipped: false, testOnly: false, addedFrom: good.base });
    expect(await new AddedPacks(memoryStorage('not a list')).list()).toEqual([]);
  });
});

describe('a pack from a folder on this computer', () => {
  it('checkFolder checks the manifest as add does and records nothing; record lists it, never fetched', async () => {
    const storage = memoryStorage();
    const packs = new AddedPacks(storage);
    const bytes = new TextEncoder().encode(COPY);
    const r = await packs.checkFolder(bytes, 'my pack');
    expect(storage.writes).toBe(0);
    expect(r.entry).toMatchObject({
      id: 'tiny-copy',
      base: `${FOLDER_BASE}tiny-copy/`,
      addedFrom: 'a folder on this computer (“my pack”)',
    });
    expect(isFolderPack(r.entry)).toBe(true);
    await packs.record(r.entry);
    setAddedPacks([]);
    const back = await new AddedPacks(storage).list();
    expect(back).toEqual([r.entry]); // its description survives the round trip
    const e = await code(packs.checkFolder(new TextEncoder().encode(TINY), 'x'));
    expect(e.message).toContain('The manifest.json of the folder “x” is pack “tiny-random”, which this app ships');
    const bad = await code(packs.checkFolder(new TextEncoder().encode('{'), 'x'));
    expect(bad.message).toContain('The manifest.json of the folder “x” is not JSON');
  });

  it('folderFetch answers the folder’s paths, one byte range, 404 and 416', async () => {
    const base = `${FOLDER_BASE}p/`;
    const f = folderFetch(new Map([['sub/w.bin', new Blob(['0123456789'])]]), base);
    const whole = await f(`${base}sub/w.bin`);
    expect([whole.status, await whole.text(), whole.headers.get('content-length')]).toEqual([200, '0123456789', '10']);
    const part = await f(`${base}sub/w.bin`, { headers: { Range: 'bytes=4-' } });
    expect([part.status, await part.text(), part.headers.get('content-range')]).toEqual([
      206,
      '456789',
      'bytes 4-9/10',
    ]);
    expect((await f(`${base}sub/w.bin`, { headers: { Range: 'bytes=10-' } })).status).toBe(416);
    expect((await f(`${base}nope`)).status).toBe(404);
    expect((await f('https://elsewhere.example/p/sub/w.bin')).status).toBe(404);
  });
});
