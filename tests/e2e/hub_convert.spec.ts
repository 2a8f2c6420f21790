/**
 * A Hugging Face repo id is enough: the Model manager inspects a MindOmni replica served by a loopback server that
 * answers like the Hub (tests/helpers/hub_server.mjs), shows the download size and the memory plan before anything
 * is fetched, downloads the files into the browser's store, survives a connection dropped mid-shard (the download
 * resumes with a Range request at the first byte not stored), converts them into a pack there, lists it, and Imagine
 * runs on it. A repo whose weight file does not match the sha256 the Hub lists is refused, and nothing of it is left
 * in IndexedDB. The replica (tests/helpers/mindomni_pack_replica.ts) has Qwen's real vocabulary and tokenizer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { mindomniPackOnDisk } from '../helpers/hub_repos';
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
  'a MindOmni repo id: inspected, downloaded (resuming a dropped shard), converted in the tab, then Imagine runs on ' +
  'it; a tampered repo leaves nothing';
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
    // Drop the connection once, 1 MB into the first mllm shard: the download resumes at the first missing byte.
    hub.cutOnce(SHARD, 1_000_000);
    await page.getByTestId('hub-convert-start').click();
    await expect(said).toContainText('Converted into the pack', { timeout: 240_000 });
    await expect(said).toContainText('test-mindomni-pack-int4');
    // The download's requests (the plan's header reads before it ask for closed ranges).
    const shard = hub.log.slice(before).filter((l) => l.path.endsWith(SHARD) && !/^bytes=\d+-\d+$/.test(l.range ?? ''));
    expect(shard[0]).toMatchObject({ range: null, sent: 1_000_000 });
    // The retry asks for the first byte not stored: the cut, or (Chromium may drop bytes still unread when a
    // connection fails) a little before it, never after.
    const resumedAt = shard
      .filter((l) => l.status === 206)
      .map((l) => Number(/^bytes=(\d+)-$/.exec(l.range ?? '')?.[1]))
      .find((n) => n > 0);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1_000_000);
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
