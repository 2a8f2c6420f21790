/**
 * A Hugging Face repo id is enough: the Model manager inspects a MindOmni replica served by a loopback server that
 * answers like the Hub (tests/helpers/hub_server.mjs), shows the download size and the memory plan before anything
 * is fetched, downloads the files into the browser's store, converts them into a pack there, lists it, and Imagine
 * runs on it. On the way: while a conversion runs, another tab cannot start one; a conversion cancelled mid-shard
 * keeps its download and lists it (Delete removes it, once confirmed); after a reload Resume finishes it, continuing
 * the stalled shard and a shard whose connection drops with Range requests at the first byte not stored. A repo
 * whose weight file does not match the sha256 the Hub lists is refused, and nothing of it is left in IndexedDB. The
 * replica (tests/helpers/mindomni_pack_replica.ts) has Qwen's real vocabulary and tokenizer. A Qwen2 repo converts
 * with OmniGen-v1's repo as its painter into one cascade pack (tests/helpers/omnigen_replica.ts); Imagine runs on
 * it (@heavy).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { cascadeReposOnDisk, mindomniPackOnDisk } from '../helpers/hub_repos';
import { startHubServer } from '../helpers/hub_server.mjs';

/** Every key of the weights database (IndexedDB `rg-weights`) as text, to see what is stored. */
async function storedKeys(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open('rg-weights');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('kv')) return resolve([]);
          const req = db.transaction('kv').objectStore('kv').getAllKeys();
          req.onsuccess = () => resolve(req.result.map((k) => JSON.stringify(k)));
          req.onerror = () => reject(req.error);
        };
      }),
  );
}

const title =
  'a MindOmni repo id: inspected; one conversion per browser; cancelled (kept, deleted), cancelled again and resumed ' +
  'after a reload (a stalled and a dropped shard continued); converted in the tab; Imagine runs on it; a tampered ' +
  'repo leaves nothing';
test(title, async ({ page }) => {
  test.setTimeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'rg-hub-convert-'));
  const files = mindomniPackOnDisk(dir);
  const hub = await startHubServer({
    repos: { 'test/mindomni-pack': files, 'test/mindomni-tampered': files },
    tamper: ['test/mindomni-tampered/image_decoder/model.safetensors'],
    licence: { 'test/mindomni-pack': 'mit' },
  });
  const SHARD = 'mllm/model-00001-of-00002.safetensors';
  try {
    await page.addInitScript((url) => localStorage.setItem('rg-vlm:hub', url), hub.url);
    await page.goto('/#/models');
    const repo = page.getByTestId('hub-repo');
    const said = page.getByTestId('hub-convert-message');

    // A weight file that does not hash to the Hub's sha256: refused, and nothing of the repo is left stored.
    await repo.fill('test/mindomni-tampered');
    await page.getByTestId('hub-inspect').click();
    await expect(page.getByTestId('hub-convert-start')).toBeVisible({ timeout: 60_000 });
    await page.getByTestId('hub-convert-start').click();
    await expect(said).toContainText('failed its sha256 check twice', { timeout: 120_000 });
    // Said with the repo's name, not the store's staging id.
    await expect(said).toContainText('test/mindomni-tampered@');
    await expect(said).not.toContainText('hub-staging');
    await expect(said).toHaveAttribute('role', 'alert');
    expect((await storedKeys(page)).filter((k) => k.includes('hub-staging') || k.includes('mindomni'))).toEqual([]);
    await expect(page.getByTestId('pack-picker').locator('option[value="test-mindomni-tampered-int4"]')).toHaveCount(0);

    // The real repo: the size and the memory plan are shown before anything large is fetched.
    await repo.fill('test/mindomni-pack');
    await repo.press('Enter');
    const report = page.getByTestId('hub-report');
    await expect(report).toContainText(`test/mindomni-pack at ${hub.sha('test/mindomni-pack').slice(0, 12)}`, {
      timeout: 60_000,
    });
    await expect(report).toContainText('MindOmni’s folder');
    await expect(page.getByTestId('hub-checked')).toContainText('(no weights)');
    // Not the published MindOmni configuration: planned from the manifest the conversion would write.
    for (const p of ['f16', 'int8', 'int4']) await expect(page.getByTestId(`hub-plan-${p}`)).toContainText('Fits.');
    const before = hub.log.length;
    await expect(page.getByTestId('hub-convert-start')).toContainText('Download');
    const staged = page.getByTestId('hub-staged-item');
    /** Starts the conversion, lets the first mllm shard stall 1 MB in, and cancels it there. */
    const startAndCancel = async (whileStalled?: () => Promise<void>) => {
      hub.stallOnce(SHARD, 1_000_000);
      await page.getByTestId('hub-convert-start').click();
      await expect(page.getByTestId('hub-progress-line')).toContainText(`downloading ${SHARD}`, { timeout: 60_000 });
      await whileStalled?.();
      await page.getByTestId('hub-convert-cancel').click();
      await expect(said).toContainText('Cancelled. The files downloaded so far are kept');
      await expect(staged).toHaveCount(1);
      await expect(staged).toContainText('test/mindomni-pack');
    };
    // While it runs, another tab sees it listed, but cannot start a second conversion (one per browser). Cancelled,
    // the conversion keeps its download, listed; Delete (confirmed) removes it.
    await startAndCancel(async () => {
      const other = await page.context().newPage();
      await other.goto('/#/models');
      await expect(other.getByTestId('hub-staged-item')).toHaveCount(1, { timeout: 30_000 });
      await other.getByTestId('hub-staged-resume').click();
      await expect(other.getByTestId('hub-convert-message')).toContainText(
        'Another conversion from the Hub is running in this browser',
        { timeout: 60_000 },
      );
      await other.close();
    });
    await page.getByTestId('hub-staged-delete').click();
    await expect(page.getByTestId('hub-staged-delete')).toHaveText('Confirm delete');
    await page.getByTestId('hub-staged-delete').click();
    await expect(staged).toHaveCount(0);
    await expect(said).toContainText('Deleted what was downloaded of test/mindomni-pack');
    expect((await storedKeys(page)).filter((k) => k.includes('hub-staging'))).toEqual([]);
    // Cancelled again, then the page reloaded: the stopped conversion is still listed and Resume finishes it, with the
    // stalled shard continued by a Range request and the second shard's connection dropped once (resumed too).
    await startAndCancel();
    await expect(page.getByTestId('hub-convert-resumes')).toContainText('downloaded already');
    await page.reload();
    await expect(staged).toHaveCount(1);
    const SHARD2 = 'mllm/model-00002-of-00002.safetensors';
    hub.cutOnce(SHARD2, 500_000);
    await page.getByTestId('hub-staged-resume').click();
    await expect(said).toContainText('Converted into the pack', { timeout: 240_000 });
    await expect(staged).toHaveCount(0);
    await expect(said).toContainText('test-mindomni-pack-int4');
    // The download's requests (the plan's header reads before them ask for closed ranges): each shard started
    // without a Range and was continued with one at the first byte not stored — the stall or the cut, or (Chromium
    // may drop bytes still unread when a connection fails) a little before it, never after.
    for (const [path, at] of [
      [SHARD, 1_000_000],
      [SHARD2, 500_000],
    ] as const) {
      const reqs = hub.log.slice(before).filter((l) => l.path.endsWith(path) && !/^bytes=\d+-\d+$/.test(l.range ?? ''));
      expect(reqs.at(-2), path).toMatchObject({ range: null, sent: at });
      if (path === SHARD2 && reqs.at(-1)?.range == null) {
        // The cut connection: on a loaded machine Chromium may drop every byte of it before the page reads one
        // (seen once in CI); nothing was stored, so the retry starts over, without a Range, and gets the whole file.
        expect(reqs.at(-1)?.status, path).toBe(200);
        continue;
      }
      const resumedAt = Number(/^bytes=(\d+)-$/.exec(reqs.at(-1)?.range ?? '')?.[1]);
      expect(reqs.at(-1)?.status, path).toBe(206);
      expect(resumedAt, path).toBeGreaterThan(0);
      expect(resumedAt, path).toBeLessThanOrEqual(at);
    }
    // The staging copy is gone; the pack's files are stored.
    const keys = await storedKeys(page);
    expect(keys.filter((k) => k.includes('hub-staging'))).toEqual([]);
    expect(keys.some((k) => k.includes('test-mindomni-pack-int4'))).toBe(true);
    await expect(page.getByTestId('pack-from-test-mindomni-pack-int4')).toContainText('converted in this tab to int4');

    // Imagine runs on the new pack (a short run: 4 tokens, 1 step, the pack's default size).
    await page.getByTestId('pack-picker').selectOption('test-mindomni-pack-int4');
    await page.evaluate(() => (location.hash = '#/imagine'));
    await page.getByLabel('Prompt', { exact: true }).fill('a red circle');
    await page.getByLabel('Max tokens').fill('4');
    await page.getByLabel('Steps').fill('1');
    await page.getByRole('button', { name: 'Imagine', exact: true }).click();
    await expect(page.getByTestId('imagine-image')).toBeVisible({ timeout: 180_000 });
    await expect(page.getByTestId('imagine-error')).toHaveCount(0);
  } finally {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const cascadeTitle =
  'a Qwen2 repo id with OmniGen-v1 as its painter: converted into one cascade pack in the tab; Imagine on it shows ' +
  'the text the painter read';
// Heavy (about 50 s; `npm run test:heavy`): the MindOmni repo above covers conversion in the tab, and
// tests/gpu/pipeline/cascade_pack.test.ts a cascade pack's Imagine, in `npm test`.
test(cascadeTitle, { tag: '@heavy' }, async ({ page }) => {
  test.setTimeout(240_000);
  const dir = mkdtempSync(join(tmpdir(), 'rg-hub-cascade-'));
  const { reasoner, painter } = cascadeReposOnDisk(dir);
  const hub = await startHubServer({ repos: { 'test/qwen-vl-text': reasoner, 'test/omnigen-v1': painter } });
  try {
    await page.addInitScript((url) => localStorage.setItem('rg-vlm:hub', url), hub.url);
    await page.goto('/#/models');
    await page.getByTestId('hub-repo').fill('test/qwen-vl-text');
    await page.getByTestId('hub-inspect').click();
    const field = page.getByTestId('hub-painter');
    await expect(field).toHaveValue('Shitao/OmniGen-v1', { timeout: 60_000 });
    // An empty painter is named before anything is fetched.
    await field.fill('  ');
    await page.getByTestId('hub-convert-start').click();
    const said = page.getByTestId('hub-convert-message');
    await expect(said).toContainText('Name the painter');
    await field.fill('test/omnigen-v1');
    await page.getByTestId('hub-weights').selectOption('int8');
    await page.getByTestId('hub-convert-start').click();
    await expect(said).toContainText('Converted into the pack', { timeout: 180_000 });
    const id = 'test-qwen-vl-text-omnigen-v1-int8';
    await expect(said).toContainText(id);
    expect((await storedKeys(page)).filter((k) => k.includes('hub-staging'))).toEqual([]);
    await expect(page.getByTestId(`pack-from-${id}`)).toContainText(
      `the Hugging Face repos test/qwen-vl-text@${hub.sha('test/qwen-vl-text').slice(0, 12)} (reasoner) and ` +
        `test/omnigen-v1@${hub.sha('test/omnigen-v1').slice(0, 12)} (painter), converted in this tab to int8`,
    );

    await page.getByTestId('pack-picker').selectOption(id);
    await page.evaluate(() => (location.hash = '#/imagine'));
    await page.getByLabel('Prompt', { exact: true }).fill('a red circle');
    await page.getByLabel('Max tokens').fill('4');
    await page.getByLabel('Steps').fill('1');
    await page.getByRole('button', { name: 'Imagine', exact: true }).click();
    await expect(page.getByTestId('imagine-image')).toBeVisible({ timeout: 120_000 });
    await expect(page.getByTestId('imagine-error')).toHaveCount(0);
    await expect(page.getByTestId('imagine-painter-text')).toContainText('The painter read');
  } finally {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
