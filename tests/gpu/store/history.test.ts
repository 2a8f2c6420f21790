// Run history: a run saved with its PNGs reads back identical; export then import reproduces it; import skips runs
// already present; every kind of malformed bundle is refused with a reason and changes nothing.
import { describe, expect, it } from 'vitest';
import { strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import { RgError } from '../../../src/errors';
import { HistoryStore, type NewRun, type RunRecord } from '../../../src/store/history';
import { exportHistory, importHistory } from '../../../src/store/history_zip';
import { dbName } from './fixture';

async function png(color: string, w = 8, h = 8): Promise<Uint8Array> {
  const c = new OffscreenCanvas(w, h);
  const g = c.getContext('2d')!;
  g.fillStyle = color;
  g.fillRect(0, 0, w, h);
  return new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
}

const SHA = '0123456789abcdef'.repeat(4);

async function run(i: number, extra: Partial<NewRun> = {}): Promise<NewRun> {
  return {
    createdAt: 1_700_000_000_000 + i,
    mode: 'imagine',
    inputs: { prompt: `draw ${i} apples` },
    settings: { steps: 8, guidance: 3, width: 64, height: 64, seed: 42 + i, cot: true },
    reasoning: `<think>${i} apples</think>`,
    answer: `${i} red apples`,
    timings: { reasoning: 10.5, painting: 20, total: 31 },
    pack: { id: 'tiny-random', manifestSha256: SHA },
    image: await png(`rgb(${i * 40}, 10, 10)`),
    ...extra,
  };
}

/** Everything the store holds, images included, for before/after comparisons. */
async function snapshot(h: HistoryStore): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const m of await h.list()) out.push((await h.get(m.id))!);
  return out;
}

async function refused(h: HistoryStore, zip: Uint8Array, reason: RegExp): Promise<void> {
  const before = await snapshot(h);
  const err = await importHistory(zip, h).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RgError);
  expect((err as RgError).code).toBe('BAD_INPUT');
  expect((err as RgError).message).toMatch(/^The history bundle was refused: .*\. Nothing was changed\.$/);
  expect((err as RgError).message).toMatch(reason);
  expect(await snapshot(h)).toEqual(before);
}

describe('run history', () => {
  it('saves a run with its images and reads it back; lists newest first; deletes', async () => {
    const h = new HistoryStore(dbName());
    const a = await h.save(await run(1));
    const b = await h.save(
      await run(2, { mode: 'edit', inputs: { instruction: 'make it blue' }, inputImage: await png('blue') }),
    );
    const c = await h.save(
      await run(3, {
        mode: 'understand',
        inputs: { question: 'what is it?' },
        image: null,
        inputImage: await png('green'),
      }),
    );
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await h.list()).map((r) => r.id)).toEqual([c.id, b.id, a.id]);
    expect(await h.get(b.id)).toEqual(b);
    expect((await h.get(c.id))!.image).toBeNull();
    expect(Array.from((await h.get(a.id))!.image!.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    await h.delete(b.id);
    expect((await h.list()).map((r) => r.id)).toEqual([c.id, a.id]);
    expect(await h.get(b.id)).toBeUndefined();
    expect(await h.image(b.id, 'input')).toBeUndefined();
  });

  it('refuses to save a run that is not valid, writing nothing', async () => {
    const h = new HistoryStore(dbName());
    await expect(
      h.save({ ...(await run(1)), image: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(h.save({ ...(await run(1)), mode: 'paint' as never })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(
      h.save({ ...(await run(1)), pack: { id: 'tiny-random', manifestSha256: 'nope' } }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await h.list()).toEqual([]);
  });

  it('exports one zip (JSON + PNGs) that imports into an empty history identically', async () => {
    const h = new HistoryStore(dbName());
    await h.save(await run(1));
    await h.save(await run(2, { mode: 'edit', inputs: { instruction: 'x' }, inputImage: await png('blue') }));
    await h.save(await run(3, { image: null }));
    const zip = await exportHistory(h);
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(
      [
        'history.json',
        ...(await h.list())
          .flatMap((r) => [r.hasImage ? `images/${r.id}.png` : [], r.hasInputImage ? `images/${r.id}.input.png` : []])
          .flat(),
      ].sort(),
    );

    const fresh = new HistoryStore(dbName());
    expect(await importHistory(zip, fresh)).toEqual({ added: 3, skipped: 0 });
    expect(await snapshot(fresh)).toEqual(await snapshot(h));
    // Importing again adds nothing and changes nothing.
    expect(await importHistory(zip, fresh)).toEqual({ added: 0, skipped: 3 });
    expect(await snapshot(fresh)).toEqual(await snapshot(h));
  });

  it('refuses malformed bundles and changes nothing', async () => {
    const h = new HistoryStore(dbName());
    await h.save(await run(1));
    const good = unzipSync(
      await exportHistory(
        await (async () => {
          const src = new HistoryStore(dbName());
          await src.save(await run(5));
          await src.save(await run(6));
          return src;
        })(),
      ),
    );
    const json = JSON.parse(new TextDecoder().decode(good['history.json']));
    const rezip = (mut: (j: typeof json, f: Zippable) => void): Uint8Array => {
      const j = structuredClone(json);
      const f: Zippable = { ...good };
      mut(j, f);
      f['history.json'] = strToU8(JSON.stringify(j));
      return zipSync(f);
    };

    await refused(h, strToU8('this is not a zip at all'), /not a readable zip/);
    await refused(h, zipSync({ 'notes.txt': strToU8('hi') }), /no history\.json/);
    await refused(h, zipSync({ 'history.json': strToU8('{not json') }), /not JSON/);
    await refused(
      h,
      rezip((j) => (j.format = 'something-else')),
      /format/,
    );
    await refused(
      h,
      rezip((j) => (j.runs[1].mode = 'paint')),
      /runs\.1\.mode/,
    );
    await refused(
      h,
      rezip((j) => (j.runs[0].pack.manifestSha256 = 'xyz')),
      /manifestSha256/,
    );
    await refused(
      h,
      rezip((j) => (j.runs[0].extra = 1)),
      /runs\.0/,
    );
    await refused(
      h,
      rezip((j) => (j.runs[1].id = j.runs[0].id)),
      /appears twice|names images/,
    );
    await refused(
      h,
      rezip((_j, f) => delete f[Object.keys(f).find((k) => k.startsWith('images/'))!]),
      /does not contain/,
    );
    await refused(
      h,
      rezip((_j, f) => (f[Object.keys(f).find((k) => k.startsWith('images/'))!] = strToU8('GIF89a not a png'))),
      /is not a PNG/,
    );
    await refused(
      h,
      rezip((_j, f) => (f['images/stray.png'] = good[Object.keys(good).find((k) => k.startsWith('images/'))!]!)),
      /files no run refers to/,
    );
    expect((await h.list()).length).toBe(1);
  });
});
