/**
 * The shapes pack (the trained miniature) in the studio: it is the app's default pack, the Imagine view offers its
 * example prompts (a click or Enter fills the prompt), and "Sketch 9 minus 5 green squares." (one of them, phrased as
 * people type: a capital, a full stop) with the pack's defaults (seed 42, its steps and guidance) reasons its way to 4
 * and paints an image that the TypeScript shapes checker reads as exactly four green squares. In `npm test` the run
 * takes 20 steps (the form's other settings the pack's); at the pack's own 50 steps it is tagged @heavy
 * (`npm run test:heavy`).
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { decodePngRgba } from '../../src/pipeline/png';
import { checkShapes, shapesMatch } from '../../src/pipeline/rgpo/shapes_checker';

const PROMPT = 'Sketch 9 minus 5 green squares.';

/** The test at `steps` (null: the pack's default, 50). */
async function paintsFour(page: Page, steps: number | null): Promise<void> {
  await page.goto('/#/imagine');
  await expect(page.getByTestId('pack-picker')).toHaveValue('shapes');
  const examples = page.getByTestId('imagine-examples');
  // The pack's examples (its manifest's list); this one is among them.
  await expect(examples.getByRole('button').first()).toBeVisible();
  // Keyboard: focus the example and press Enter; the prompt is filled and focused.
  await examples.getByRole('button', { name: PROMPT, exact: true }).focus();
  await page.keyboard.press('Enter');
  const prompt = page.getByLabel('Prompt', { exact: true });
  await expect(prompt).toHaveValue(PROMPT);
  await expect(prompt).toBeFocused();
  // The pack's defaults (the form is filled from its manifest once read).
  await expect(page.getByRole('textbox', { name: 'Seed' })).toHaveValue('42');
  await expect(page.getByTestId('imagine-cot')).toBeChecked();
  await expect(page.getByLabel('Steps')).toHaveValue('50');
  if (steps !== null) await page.getByLabel('Steps').fill(String(steps));

  const t0 = Date.now();
  await page.getByRole('button', { name: 'Imagine', exact: true }).click();
  await expect(page.getByTestId('imagine-image')).toBeVisible({ timeout: 220_000 });
  console.log(
    `shapes Imagine (${await page.locator('figcaption .muted').textContent()}): ` +
      `${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  await expect(page.getByTestId('imagine-error')).toHaveCount(0);
  const thinking = (await page.getByTestId('imagine-thinking').textContent()) ?? '';
  const answer = (await page.getByTestId('imagine-answer').textContent()) ?? '';
  console.log(`reasoning: ${JSON.stringify(thinking)}; answer: ${JSON.stringify(answer)}`);
  expect(thinking).toMatch(/\b4\b/);

  const download = page.waitForEvent('download');
  await page.getByTestId('imagine-download').click();
  const png = readFileSync(await (await download).path());
  const { rgba, width, height } = decodePngRgba(new Uint8Array(png));
  const report = checkShapes(rgba, width, height, 4);
  console.log(`checker: ${JSON.stringify(report.counts)}`);
  expect(shapesMatch(report, 4, 'green', 'square'), JSON.stringify(report.counts)).toBe(true);
}

test('shapes is the default pack; an example prompt paints four green squares at seed 42 (20 steps)', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await paintsFour(page, 20);
});

const full = "shapes is the default pack; an example prompt paints four green squares at seed 42, the pack's 50 steps";
test(full, { tag: '@heavy' }, async ({ page }) => {
  test.setTimeout(300_000);
  await paintsFour(page, null);
});
