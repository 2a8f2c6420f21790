// Crashes and failures a user can hit (issue 17 items 6 and 7), end to end against the built app:
// - the worker dies during a model-manager action: the action ends with an error instead of staying busy;
// - the worker script cannot load: restarts back off and stop after a few tries with one clear error.
// The service worker is blocked so that Playwright's routes see every request (a service worker answers first).
import { expect, test, type Page } from '@playwright/test';

const PACK = 'tiny-random';

test.use({ serviceWorkers: 'block' });

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('rg-vlm:pack', 'tiny-random'));
});

/** The app's worker (spawned on the first call the app makes). */
async function appWorker(page: Page) {
  // ORT's WASM threads are workers too; the app's own is the one not served from /ort/.
  await expect.poll(() => page.workers().filter((w) => !w.url().includes('/ort/')).length).toBeGreaterThan(0);
  return page.workers().find((w) => !w.url().includes('/ort/'))!;
}

test('a worker crash during a model-manager download ends the action with an error, not busy for ever', async ({
  page,
  context,
}) => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let reached!: () => void;
  const fileRequested = new Promise<void>((r) => (reached = r));
  // Pack files hang until the test lets them go, so the download is in progress when the worker dies.
  await context.route(`**/models/${PACK}/**`, async (route) => {
    if (route.request().url().endsWith('/manifest.json')) return route.continue();
    reached();
    await held;
    await route.continue().catch(() => undefined);
  });
  await page.goto('/#/models');
  await page.getByLabel('Show test packs').check();
  const row = page.getByTestId(`pack-${PACK}`);
  await expect(row.getByTestId(`pack-state-${PACK}`)).toHaveText('not downloaded');
  await row.getByRole('button', { name: 'Download' }).click();
  await fileRequested;
  await expect(row).toHaveAttribute('aria-busy', 'true');
  const worker = await appWorker(page);
  await worker.evaluate(() => {
    setTimeout(() => {
      throw new Error('simulated worker crash');
    }, 0);
  });
  await expect(row.getByTestId(`pack-message-${PACK}`)).toContainText('The worker stopped');
  await expect(row).toHaveAttribute('aria-busy', 'false');
  await expect(row.getByRole('button', { name: /Download|Resume/ })).toBeEnabled();
  release();
});

test('a worker script that cannot load gives one clear error after a bounded number of restarts', async ({
  page,
  context,
}) => {
  await page.goto('/#/device');
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  const url = (await appWorker(page)).url();
  let hits = 0;
  await context.route(url, (route) => {
    hits++;
    return route.fulfill({ status: 500, contentType: 'text/plain', body: 'broken on purpose' });
  });
  await page.reload();
  const alert = page.getByRole('alert');
  // 1 + 4 restarts, 1 + 2 + 4 + 8 s apart.
  await expect(alert).toContainText('is no longer restarted', { timeout: 40_000 });
  await expect(alert).toContainText('Reload the page');
  expect(hits).toBe(5);
  await page.waitForTimeout(3000);
  expect(hits).toBe(5);
  await expect(page.getByTestId('backend')).toHaveCount(0);
});

test('a device lost during an Imagine run ends it with DEVICE_LOST; Retry succeeds on a fresh device', async ({
  page,
}) => {
  await page.goto('/#/imagine');
  await page.getByLabel('Prompt', { exact: true }).fill('a red square');
  await page.getByLabel('Max tokens').fill('4');
  await page.getByLabel('Steps').fill('2');
  await page.getByLabel('Width').fill('32');
  await page.getByLabel('Height').fill('32');
  const worker = await appWorker(page);
  // A real loss on the worker's device: the third command encoder of the run destroys the device it came from.
  await worker.evaluate(() => {
    let left = 3;
    const create = GPUDevice.prototype.createCommandEncoder;
    GPUDevice.prototype.createCommandEncoder = function (this: GPUDevice, desc?: GPUCommandEncoderDescriptor) {
      const encoder = create.call(this, desc);
      if (--left === 0) queueMicrotask(() => this.destroy());
      return encoder;
    };
  });
  await page.getByRole('button', { name: 'Imagine', exact: true }).click();
  const error = page.getByTestId('imagine-error');
  await expect(error).toHaveAttribute('data-code', 'DEVICE_LOST', { timeout: 150_000 });
  await expect(error).toContainText('The GPU device was lost during the run');
  await expect(page.getByTestId('imagine-image')).toHaveCount(0);
  await page.getByTestId('imagine-retry').click();
  await expect(page.getByTestId('imagine-image')).toBeVisible({ timeout: 150_000 });
  await expect(page.getByTestId('imagine-error')).toHaveCount(0);
});

test('an adapter that refuses to create a device: the app falls back to WASM and shows why', async ({
  page,
  context,
}) => {
  await page.goto('/#/device');
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  const url = (await appWorker(page)).url();
  // The worker script, served with a first line that makes requestDevice ask for more than the adapter has.
  await context.route(url, async (route) => {
    const res = await route.fetch();
    const patch =
      'const __rd = GPUAdapter.prototype.requestDevice; GPUAdapter.prototype.requestDevice = function (d) {' +
      ' return __rd.call(this, { ...d, requiredLimits: { ...(d && d.requiredLimits),' +
      ' maxBufferSize: this.limits.maxBufferSize * 4 } }); };\n';
    await route.fulfill({ response: res, body: patch + (await res.text()) });
  });
  await page.reload();
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('fallback-reason')).toContainText('The GPU adapter could not create a device');
  await expect(page.getByTestId('no-webgpu')).toContainText('could not create a device');
});
