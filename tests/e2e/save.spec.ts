/**
 * Finished results are never lost (#17 items 1, 2, 8), in the built app on tiny-random:
 * - an input image whose name says PNG but whose bytes are JPEG is stored as a PNG, so the finished run is saved;
 * - persistent storage is asked for once, when the first run is saved; History says whether storage is persistent
 *   and reminds to export when it is not;
 * - a real IndexedDB failure under the history store (its database holds no `kv` store, so every write is refused by
 *   IndexedDB itself) leaves the finished Imagine image and the RGPO group shown, with "Not saved in history:
 *   <reason> — <what to do>", and Download still works. (A real full disk cannot be staged here: the DevTools
 *   protocol's Storage.overrideQuotaForOrigin has no effect on this Chromium; the quota sentence is covered by
 *   tests/unit/ui/run_skeleton.test.ts.)
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';

const PNG = readFileSync(new URL('../fixtures/tiny-random/understand_image.png', import.meta.url));
/** The phase line once a run has ended either way (a failure shows at once instead of after the timeout). */
const ENDED = /Done in|Stopped by an error|Cancelled/;
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const REFUSED =
  /^Not saved in history: the browser’s database refused the write \(NotFoundError: .+\) — export history or free space/;

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('rg-vlm:pack', 'tiny-random'));
  // Counts the page's requests for persistent storage (the worker cannot ask; the page asks after a save).
  await page.addInitScript(() => {
    const w = window as unknown as { __persistCalls: number };
    w.__persistCalls = 0;
    const storage = navigator.storage;
    const persist = storage.persist.bind(storage);
    storage.persist = () => {
      w.__persistCalls++;
      return persist();
    };
  });
});

const persistCalls = (page: Page) =>
  page.evaluate(() => (window as unknown as { __persistCalls: number }).__persistCalls);

/** The first bytes of every input PNG and the number of runs in the app's history database (read from IndexedDB). */
function historyDb(page: Page): Promise<{ runs: number; inputs: number[][] }> {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('rg-history');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const s = open.result.transaction('kv').objectStore('kv');
          const runs = s.getAllKeys(IDBKeyRange.bound(['run'], ['run', []]));
          const pngs = s.getAll(IDBKeyRange.bound(['png'], ['png', []]));
          const keys = s.getAllKeys(IDBKeyRange.bound(['png'], ['png', []]));
          pngs.transaction!.oncomplete = () => {
            const inputs = (pngs.result as Uint8Array[])
              .filter((_, i) => (keys.result[i] as string[])[2] === 'input')
              .map((b) => Array.from(b.subarray(0, 8)));
            open.result.close();
            resolve({ runs: runs.result.length, inputs });
          };
        };
      }),
  );
}

test('Understand: a JPEG named .png is stored as a PNG, and the finished run is saved', async ({ page }) => {
  await page.goto('/#/understand');
  // The fixture re-encoded as JPEG in the page, then given with a PNG name (the browser then says image/png).
  const jpeg = await page.evaluate(
    async (bytes) => {
      const bmp = await createImageBitmap(new Blob([new Uint8Array(bytes)]));
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      c.getContext('2d')!.drawImage(bmp, 0, 0);
      return [...new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer())];
    },
    [...PNG],
  );
  expect(jpeg.slice(0, 3)).toEqual([0xff, 0xd8, 0xff]);
  await page
    .getByTestId('understand-image-file')
    .setInputFiles({ name: 'shapes.png', mimeType: 'image/png', buffer: Buffer.from(jpeg) });
  await page.getByLabel('Question').fill('what is this?');
  await page.getByLabel('Max tokens').fill('4');
  expect(await persistCalls(page)).toBe(0);
  await page.getByRole('button', { name: 'Ask' }).click();
  await expect(page.getByTestId('understand-phase')).toContainText(ENDED, { timeout: 300_000 });
  await expect(page.getByTestId('understand-phase')).toContainText('Done in');
  await expect(page.getByTestId('understand-stats')).toContainText('Saved in history ·');
  await expect(page.getByTestId('understand-saved')).toHaveCount(0);
  const db = await historyDb(page);
  expect(db.runs).toBe(1);
  expect(db.inputs).toEqual([PNG_SIG]);

  // The first saved run asked for persistent storage, once; a second run does not ask again.
  await expect.poll(() => persistCalls(page)).toBe(1);
  await page.getByRole('button', { name: 'Ask' }).click();
  await expect(page.getByTestId('understand-phase')).toContainText(ENDED, { timeout: 300_000 });
  await expect(page.getByTestId('understand-phase')).toContainText('Done in');
  await expect(page.getByTestId('understand-stats')).toContainText('Saved in history ·');
  expect(await persistCalls(page)).toBe(1);

  // Headless Chromium answers persist() with false: History says storage is not persistent and reminds to export.
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'History' }).click();
  await expect(page.getByTestId('run')).toHaveCount(2);
  expect(await page.evaluate(() => navigator.storage.persisted())).toBe(false);
  await expect(page.getByTestId('history-persistence')).toContainText('Storage is not persistent');
  await expect(page.getByTestId('history-persistence')).toHaveAttribute('role', 'status');
  await expect(page.getByTestId('history-export-reminder')).toContainText('Export history now and then');
});

const refusedTitle =
  'a store error while saving: Imagine and RGPO results are shown with why they are not saved; Download works';
test(refusedTitle, async ({ page }) => {
  test.setTimeout(400_000);
  await page.goto('/#/imagine');
  // The history database exists without the store the app writes to: IndexedDB itself refuses every save.
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('rg-history', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('not-kv');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          open.result.close();
          resolve();
        };
      }),
  );
  await page.getByLabel('Prompt', { exact: true }).fill('three red circles');
  await page.getByLabel('Steps').fill('1');
  await page.getByLabel('Max tokens').fill('4');
  await page.getByLabel('Width').fill('32');
  await page.getByLabel('Height').fill('32');
  await page.getByRole('button', { name: 'Imagine', exact: true }).click();
  await expect(page.getByTestId('imagine-phase')).toContainText(ENDED, { timeout: 300_000 });
  await expect(page.getByTestId('imagine-phase')).toContainText('Done in');
  await expect(page.getByTestId('imagine-image')).toBeVisible();
  await expect(page.getByTestId('imagine-saved')).toHaveText(REFUSED);
  await expect(page.getByTestId('imagine-saved')).toHaveAttribute('role', 'status');
  const download = page.waitForEvent('download');
  await page.getByTestId('imagine-download').click();
  const png = readFileSync(await (await download).path());
  expect([...png.subarray(0, 8)]).toEqual(PNG_SIG);
  expect(png.includes(Buffer.from('three red circles'))).toBe(true);
  // Nothing was saved, so nothing asked for persistent storage yet.
  expect(await persistCalls(page)).toBe(0);

  // RGPO follows the same rule: the group is shown with the same reason, and keeping a rollout says why it failed.
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'RGPO lab' }).click();
  await page.getByLabel('Prompt').fill('two blue squares');
  await page.getByLabel('Group size G').fill('2');
  await page.getByLabel('Steps').fill('1');
  await page.getByLabel('Max tokens').fill('4');
  await page.getByRole('button', { name: 'Run group' }).click();
  await expect(page.getByTestId('rgpo-summary')).toBeVisible({ timeout: 300_000 });
  await expect(page.getByTestId('rgpo-image')).toHaveCount(2);
  await expect(page.getByTestId('rgpo-saved')).toHaveText(REFUSED);
  await page.getByTestId('rgpo-keep').click();
  await expect(page.getByTestId('rgpo-keep-error')).toHaveText(REFUSED);
});
