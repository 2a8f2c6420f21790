/**
 * The RGPO lab on tiny-random: a group of 4 fills four cards whose rewards, totals and advantages (read from the DOM's
 * data attributes, full precision) obey the arithmetic: each reward in [0, 1] or off, total = sum of the available
 * rewards, advantages = (total − mean) / population std (all 0 when std is 0) and sum to 0 within 1e-6; best-of-G
 * is the highest total at the lowest index and is highlighted; keeping it saves an Imagine run; a second group
 * updates the running mean. Markup in the prompt stays text.
 */
import { expect, test, type Page } from '@playwright/test';

// These tests run on tiny-random (random weights, exact fixtures); the app's default pack is shapes, so the pack is
// chosen before the app starts (the picker remembers it under this key).
test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('rg-vlm:pack', 'tiny-random'));
});

const MARKUP = 'three <b>red</b> circles <img src=x onerror="window.__pwned=1">';

interface CardNumbers {
  seed: number;
  total: number;
  advantage: number;
  rewards: Record<string, number | null>;
  best: boolean;
}

async function readCards(page: Page): Promise<CardNumbers[]> {
  return page.getByTestId('rgpo-card').evaluateAll((cards) =>
    cards.map((c) => {
      const el = c as HTMLElement;
      const rewards: Record<string, number | null> = {};
      for (const r of Array.from(el.querySelectorAll<HTMLElement>('[data-testid="rgpo-reward"]'))) {
        rewards[r.dataset.reward!] = r.dataset.value === 'null' ? null : Number(r.dataset.value);
      }
      return {
        seed: Number(el.dataset.seed),
        total: Number(el.dataset.total),
        advantage: Number(el.dataset.advantage),
        rewards,
        best: el.classList.contains('best'),
      };
    }),
  );
}

function checkGroup(cards: CardNumbers[], g = 4): { mean: number; best: number } {
  expect(cards).toHaveLength(g);
  for (const c of cards) {
    expect(Number.isFinite(c.total) && Number.isFinite(c.advantage)).toBe(true);
    const vals = Object.values(c.rewards);
    expect(Object.keys(c.rewards)).toEqual(['format', 'similarity']);
    expect(c.rewards.similarity).toBeNull();
    for (const v of vals) if (v !== null) expect(v >= 0 && v <= 1).toBe(true);
    expect(c.total).toBeCloseTo(
      vals.reduce<number>((a, v) => a + (v ?? 0), 0),
      12,
    );
  }
  const totals = cards.map((c) => c.total);
  const mean = totals.reduce((a, b) => a + b, 0) / g;
  const std = Math.sqrt(totals.reduce((a, t) => a + (t - mean) ** 2, 0) / g);
  cards.forEach((c, i) => expect(c.advantage).toBeCloseTo(std > 1e-9 ? (totals[i]! - mean) / std : 0, 9));
  expect(Math.abs(cards.reduce((a, c) => a + c.advantage, 0))).toBeLessThan(1e-6);
  const best = totals.indexOf(Math.max(...totals));
  expect(cards.map((c) => c.best)).toEqual(cards.map((_, i) => i === best));
  return { mean, best };
}

const groupTitle =
  'RGPO lab: a group of 4 on tiny-random fills four cards; advantages sum to 0; best-of-G kept; running mean';
test(groupTitle, async ({ page }) => {
  test.setTimeout(400_000);
  page.on('dialog', (d) => {
    throw new Error(`unexpected dialog: ${d.message()}`);
  });
  await page.goto('/#/rgpo');
  await expect(page.getByRole('heading', { name: 'RGPO lab', level: 2 })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'RGPO lab' })).toHaveAttribute(
    'aria-current',
    'page',
  );

  // Bad input is explained next to its field and runs nothing.
  await page.getByLabel('Group size G').fill('0');
  await page.getByRole('button', { name: 'Run group' }).click();
  await expect(page.locator('#rgpo-group-error')).toContainText('from 1 to 16');
  await expect(page.locator('#rgpo-prompt-error')).toContainText('empty');
  await expect(page.getByTestId('rgpo-card')).toHaveCount(0);

  await page.getByLabel('Prompt').fill(MARKUP);
  await page.getByLabel('Group size G').fill('4');
  await page.getByLabel('Temperature').fill('1');
  await page.getByLabel('Top-p').fill('1');
  await page.getByLabel('First seed').fill('42');
  await page.getByLabel('Steps').fill('1');
  await page.getByLabel('Max tokens').fill('6');
  await page.getByLabel('Max tokens').press('Enter');

  await expect(page.getByTestId('rgpo-card')).toHaveCount(4, { timeout: 120_000 });
  await expect(page.getByTestId('rgpo-summary')).toBeVisible({ timeout: 300_000 });
  await expect(page.locator('[data-testid="rgpo-card"][data-advantage]')).toHaveCount(4);
  await expect(page.getByTestId('rgpo-status')).toContainText('Group done');
  await expect(page.getByTestId('rgpo-image')).toHaveCount(4);
  const first = await readCards(page);
  expect(first.map((c) => c.seed)).toEqual([42, 43, 44, 45]);
  const g1 = checkGroup(first);
  // Sampling, not greedy: the four seeds give different completions.
  const answers = await page.getByTestId('rgpo-answer').allTextContents();
  const reasonings = await page.getByTestId('rgpo-reasoning').allTextContents();
  expect(new Set(answers.map((a, i) => `${reasonings[i]}|${a}`)).size).toBeGreaterThan(1);
  expect(Number(await page.getByTestId('rgpo-summary').getAttribute('data-mean'))).toBeCloseTo(g1.mean, 12);
  await expect(page.getByTestId('rgpo-saved')).toHaveText('Group saved in history.');
  await expect(page.getByTestId('rgpo-chart')).toBeVisible();
  await expect(page.getByTestId('rgpo-image').first()).toHaveAttribute('alt', `Rollout 1 for: ${MARKUP}`);

  // One click keeps the best rollout as an Imagine run.
  await page.getByTestId('rgpo-keep').click();
  await expect(page.getByTestId('rgpo-keep')).toHaveText('Kept in history');

  // A second, smaller group (2 rollouts, to keep the suite short): the running mean covers both groups.
  await page.getByLabel('Group size G').fill('2');
  await page.getByLabel('First seed').fill('46');
  await page.getByRole('button', { name: 'Run group' }).click();
  await expect(page.getByTestId('rgpo-running-mean')).toContainText('over 2 groups', { timeout: 300_000 });
  const second = await readCards(page);
  expect(second.map((c) => c.seed)).toEqual([46, 47]);
  const g2 = checkGroup(second, 2);
  expect(Number(await page.getByTestId('rgpo-running-mean').getAttribute('data-value'))).toBeCloseTo(
    (g1.mean + g2.mean) / 2,
    12,
  );

  // Text stayed text.
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(await page.locator('main img[src="x"], main b').count()).toBe(0);

  // History lists the groups (mode rgpo) and the kept rollout (mode imagine).
  await page.goto('/#/history');
  await expect(page.getByText(MARKUP).first()).toBeVisible({ timeout: 30_000 });
});
