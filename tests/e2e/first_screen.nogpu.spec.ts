import { expect, test } from '@playwright/test';

test('without WebGPU the page says so and the self-test runs on WASM', async ({ page }) => {
  await page.goto('/#/device');
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('no-webgpu')).toContainText('Unavailable');
  await expect(page.getByTestId('fallback-reason')).not.toBeEmpty();
  await page.getByRole('button', { name: 'Run the self-test' }).click();
  await expect(page.getByTestId('selftest')).toContainText('Self-test on wasm: passed');
});
