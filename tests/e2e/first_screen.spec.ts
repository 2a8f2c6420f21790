import { expect, test } from '@playwright/test';

test('first screen shows the swiftshader adapter, the webgpu backend and a worker round trip', async ({ page }) => {
  await page.goto('/#/device');
  await expect(page.getByRole('heading', { name: 'rg-vlm-web' })).toBeVisible();
  await expect(page.getByTestId('architecture')).toHaveText('swiftshader');
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.getByTestId('roundtrip')).toContainText('Round trip:');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
});

test('the self-test feeds our compute pass into onnxruntime-web on the same device', async ({ page }) => {
  await page.goto('/#/device');
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await page.getByRole('button', { name: 'Run the self-test' }).click();
  await expect(page.getByTestId('selftest')).toContainText('Self-test on webgpu: passed');
  await expect(page.getByTestId('selftest')).toContainText('[-1, -0.5, 0, 0.5');
  await expect(page.getByLabel('Test pattern drawn by a WebGPU compute pass')).toBeVisible();
});

test('a lost device is reported and the next request gets a fresh one', async ({ page }) => {
  await page.goto('/#/device');
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await page.getByRole('button', { name: 'Simulate device loss' }).click();
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('GPU device lost');
  await expect(alert).toContainText('a fresh device is created automatically');
  await page.getByRole('button', { name: 'Dismiss this message' }).click();
  await page.getByRole('button', { name: 'Run the self-test' }).click();
  await expect(page.getByTestId('selftest')).toContainText('Self-test on webgpu: passed');
});

test('a worker that throws gives a specific message and the app keeps working', async ({ page }) => {
  await page.goto('/#/device');
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await page.getByRole('button', { name: 'Make the worker throw' }).click();
  await expect(page.getByRole('alert')).toContainText('worker failure on request: requested from the UI');
  await page.getByRole('button', { name: 'Ping the worker' }).click();
  await page.getByRole('button', { name: 'Run the self-test' }).click();
  await expect(page.getByTestId('selftest')).toContainText('passed');
});

test('pages are served with cross-origin isolation and a CSP without inline script', async ({ request }) => {
  const res = await request.get('/');
  const h = res.headers();
  expect(h['cross-origin-opener-policy']).toBe('same-origin');
  expect(h['cross-origin-embedder-policy']).toBe('require-corp');
  expect(h['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(h['content-security-policy']).not.toContain("unsafe-inline' 'wasm");
});

// onnxruntime-web's companions are served from a folder named by their content hash, so an update never replaces the
// files a page of the previous build still loads (#17 item 10): the service worker precaches exactly that folder's
// two files, and every /ort/ reference in the built scripts points into the same folder.
test('the /ort/ files are versioned by content hash and referenced consistently', async ({ request }) => {
  const sw = await (await request.get('/sw.js')).text();
  // sw.js is a classic script: an import of a chunk it shares with the page would stop it from installing.
  expect(sw).not.toMatch(/\bimport\s*["'{*]/);
  const files = [...sw.matchAll(/ort\/([0-9a-f]{12})\/(ort-wasm-simd-threaded\.asyncify\.(?:mjs|wasm))/g)];
  const dirs = new Set(files.map((m) => m[1]));
  expect(dirs.size).toBe(1);
  const dir = `/ort/${[...dirs][0]}/`;
  expect(new Set(files.map((m) => m[2]))).toEqual(
    new Set(['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm']),
  );
  const wasm = await request.get(`${dir}ort-wasm-simd-threaded.asyncify.wasm`);
  expect(wasm.status()).toBe(200);
  expect(wasm.headers()['content-type']).toContain('wasm');
  const mjs = await request.get(`${dir}ort-wasm-simd-threaded.asyncify.mjs`);
  expect(mjs.headers()['content-type']).toContain('javascript');

  const scripts = [...sw.matchAll(/assets\/[\w.-]+\.js/g)].map((m) => m[0]);
  let references = 0;
  for (const path of new Set(scripts)) {
    const code = await (await request.get(`/${path}`)).text();
    for (const m of code.matchAll(/\/ort\/([\w.-]*)\//g)) {
      references++;
      expect(`/ort/${m[1]}/`, `${path} refers to another /ort/ folder`).toBe(dir);
    }
  }
  expect(references).toBeGreaterThan(0);
});
