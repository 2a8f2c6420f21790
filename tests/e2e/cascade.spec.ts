/**
 * Cascade thinking in the studio on tiny-random (short: 1 step, 4 tokens, 32×32): Imagine offers the option only with
 * chain of thought, a cascade run shows the first pass (thinking / answer) and the second pass (the text sent back,
 * its answer) under it; Compare and the RGPO lab offer the option too.
 */
import { expect, test } from '@playwright/test';

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('rg-vlm:pack', 'tiny-random'));
});

test('Imagine: the cascade option needs chain of thought; both passes are shown', async ({ page }) => {
  test.setTimeout(300_000); // two reasoner passes after the models load (slow on software WebGPU)
  await page.goto('/#/imagine');
  const cot = page.getByTestId('imagine-cot');
  const cascade = page.getByTestId('imagine-cascade-option');
  await expect(cot).toBeChecked();
  await expect(cascade).toBeEnabled();
  await cot.uncheck();
  await expect(cascade).toBeDisabled();
  await cot.check();
  await cascade.check();
  await page.getByLabel('Prompt', { exact: true }).fill('draw the result of 3 apples plus 2 apples');
  await page.getByLabel('Steps').fill('1');
  await page.getByLabel('Max tokens').fill('4');
  await page.getByLabel('Width').fill('32');
  await page.getByLabel('Height').fill('32');
  await page.getByRole('button', { name: 'Imagine', exact: true }).click();
  await expect(page.getByTestId('imagine-image')).toBeVisible({ timeout: 270_000 });
  await expect(page.getByTestId('imagine-first-pass')).toBeVisible();
  // tiny-random writes no tags: its whole first-pass text is the answer shown and the text sent back.
  const first = ((await page.getByTestId('imagine-answer').textContent()) ?? '').trim();
  expect(first.length).toBeGreaterThan(0);
  await expect(page.getByTestId('imagine-cascade')).toBeVisible();
  await expect(page.getByTestId('imagine-cascade-prompt')).toHaveText(first);
  const second = (await page.getByTestId('imagine-cascade-answer').textContent()) ?? '';
  expect(second.trim().length).toBeGreaterThan(0);

  await page.goto('/#/compare');
  await expect(page.getByTestId('cmp-0-cascade')).toBeEnabled();
  await expect(page.getByTestId('cmp-1-cascade')).toBeDisabled(); // the default "No CoT" variant
  await page.goto('/#/rgpo');
  await expect(page.getByTestId('rgpo-cascade-option')).not.toBeChecked();
  await expect(page.getByTestId('rgpo-objective')).toContainText('0.01');
  await expect(page.getByTestId('rgpo-objective')).toContainText('0.06');
});
