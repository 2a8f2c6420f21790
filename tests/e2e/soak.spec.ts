// Soak: 30 Imagine runs (`npm run test:soak`; `npm test` runs 6, SOAK_RUNS sets it) on tiny-random in one page, a
// seeded third of them cancelled at a random moment (at once, while reasoning, while painting). After the last run
// the GPU buffers the app holds and every IndexedDB store but history hold what they held after the first clean run;
// history grew by exactly the finished runs, and the History view lists every one of them.
import { expect, test, type Page } from '@playwright/test';
import { mulberry32 } from '../helpers/rng';

// Six runs are the shortest prefix of the seeded sequence with a cancel of each kind (painting, at once, reasoning).
const RUNS = Number(process.env.SOAK_RUNS ?? 6);

/** Record counts of every object store of every IndexedDB database of the page's origin, as `db/store`. */
async function idbCounts(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const out: Record<string, number> = {};
    const req = <T>(r: IDBRequest<T>) =>
      new Promise<T>((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    for (const info of await indexedDB.databases()) {
      if (!info.name) continue;
      const db = await req(indexedDB.open(info.name));
      for (const name of Array.from(db.objectStoreNames)) {
        out[`${info.name}/${name}`] = await req(db.transaction(name).objectStore(name).count());
      }
      db.close();
    }
    return out;
  });
}

/** The GPU buffers alive on the worker's device, read from the device panel. */
async function gpuBuffers(page: Page): Promise<number> {
  const nav = page.getByRole('navigation', { name: 'Views' });
  await nav.getByRole('link', { name: 'Device' }).click();
  const before = await page.getByTestId('gpu-memory').textContent();
  await page.getByRole('button', { name: 'Read the device again' }).click();
  await expect(page.getByTestId('gpu-memory')).toBeVisible();
  // The panel is re-read after the click; wait for the button to be usable again (the read finished).
  await expect(page.getByRole('button', { name: 'Read the device again' })).toBeEnabled();
  void before;
  const n = Number(await page.getByTestId('gpu-buffers').textContent());
  await nav.getByRole('link', { name: 'Imagine' }).click();
  return n;
}

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('rg-vlm:pack', 'tiny-random'));
});

test(`soak: ${RUNS} Imagine runs with random cancels leave GPU buffers and stores as after the first run`, async ({
  page,
}) => {
  test.setTimeout(900_000);
  const random = mulberry32(20261202); // seeded, so a failing sequence of cancels can be replayed
  await page.goto('/#/imagine');
  await page.getByLabel('Prompt', { exact: true }).fill('draw the result of 3 apples plus 2 apples');
  await page.getByLabel('Max tokens').fill('8');
  await page.getByLabel('Steps').fill('2');
  await page.getByLabel('Width').fill('32');
  await page.getByLabel('Height').fill('32');
  const run = page.getByRole('button', { name: 'Imagine', exact: true });
  const cancel = page.getByRole('button', { name: 'Cancel' });
  const phase = page.getByTestId('imagine-phase');

  let finished = 0;
  let cancelled = 0;
  let baseline: { buffers: number; idb: Record<string, number> } | null = null;
  for (let i = 0; i < RUNS; i++) {
    // The first run always finishes (it is the baseline); after it, about one run in three is cancelled.
    const r = random();
    const when = i === 0 || r >= 1 / 3 ? 'never' : r < 1 / 9 ? 'at once' : r < 2 / 9 ? 'reasoning' : 'painting';
    await page.getByLabel('Seed', { exact: true }).fill(String(1000 + i));
    await run.click();
    if (when !== 'never') {
      if (when === 'reasoning')
        await expect(phase).toContainText(/Thinking|Loading|Painting|Done in/, { timeout: 60_000 });
      if (when === 'painting') await expect(phase).toContainText(/Painting|Decoding|Done in/, { timeout: 120_000 });
      // The run may have ended just before the click: then there is nothing to cancel and it counts as finished.
      if (await cancel.isEnabled()) await cancel.click({ timeout: 5_000 }).catch(() => undefined);
    }
    await expect(run).toBeEnabled({ timeout: 180_000 });
    await expect(cancel).toBeDisabled();
    const text = (await phase.textContent()) ?? '';
    if (text.includes('Cancelled')) {
      cancelled++;
      await expect(page.getByTestId('imagine-image')).toHaveCount(0);
    } else {
      expect(text, `run ${i} (${when})`).toContain('Done in');
      await expect(page.getByTestId('imagine-saved')).toHaveText('Saved in history.');
      finished++;
    }
    if (i === 0) baseline = { buffers: await gpuBuffers(page), idb: await idbCounts(page) };
  }
  expect(finished + cancelled).toBe(RUNS);
  expect(cancelled, 'some runs were cancelled').toBeGreaterThan(RUNS >= 24 ? 3 : 0);

  const buffers = await gpuBuffers(page);
  const idb = await idbCounts(page);
  console.log(`soak: ${finished} finished, ${cancelled} cancelled; GPU buffers ${baseline!.buffers} -> ${buffers}`);
  console.log(
    `soak: IndexedDB after the first run ${JSON.stringify(baseline!.idb)}, after the last ${JSON.stringify(idb)}`,
  );
  expect(buffers, 'live GPU buffers after the last run vs after the first').toBe(baseline!.buffers);
  const perRun = baseline!.idb['rg-history/kv'] ?? 0;
  expect(perRun, 'the first run put records in history').toBeGreaterThan(0);
  for (const [store, n] of Object.entries(idb)) {
    if (store === 'rg-history/kv') expect(n, store).toBe(perRun * finished);
    else expect(n, store).toBe(baseline!.idb[store]);
  }
  expect(Object.keys(idb).sort()).toEqual(Object.keys(baseline!.idb).sort());

  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'History' }).click();
  await expect(page.getByTestId('run')).toHaveCount(finished);
});
