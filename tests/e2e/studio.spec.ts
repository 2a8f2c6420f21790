import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { unzipSync, strFromU8 } from 'fflate';

const SHOTS = process.env.STUDIO_SHOTS ?? '/tmp/studio-shots';
const PNG = readFileSync(new URL('../fixtures/tiny-random/understand_image.png', import.meta.url));
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const MARKUP = 'a cat <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> & "quotes"';

// Each test has its own page and storage, so they may run on both workers: run in order, this file alone was the
// suite's longest tail (about half of the e2e time on one worker while the other sat idle).
test.describe.configure({ mode: 'parallel' });

// These tests run on tiny-random (random weights, exact fixtures); the app's default pack is shapes, so the pack is
// chosen before the app starts (the picker remembers it under this key).
test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('rg-vlm:pack', 'tiny-random'));
});

/** Flags script execution from injected markup and any dialog. */
async function guard(page: Page): Promise<void> {
  page.on('dialog', (d) => {
    throw new Error(`unexpected dialog: ${d.message()}`);
  });
  await page.addInitScript(() => {
    (window as unknown as { __pwned?: number }).__pwned = undefined;
  });
}

test.describe('studio shell', () => {
  test('every view is one link away, the hash keeps the view across a reload, and the keyboard works', async ({
    page,
  }) => {
    await page.goto('/');
    const nav = page.getByRole('navigation', { name: 'Views' });
    await expect(page.getByRole('heading', { name: 'Imagine', level: 2 })).toBeVisible();
    for (const name of ['Understand', 'Edit', 'Compare', 'History', 'Models', 'Device', 'Imagine']) {
      await nav.getByRole('link', { name }).click();
      await expect(page.getByRole('heading', { name, level: 2 })).toBeVisible();
      await expect(nav.getByRole('link', { name })).toHaveAttribute('aria-current', 'page');
    }
    await page.goto('/#/compare');
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Compare', level: 2 })).toBeVisible();
    // Keyboard: focus the Models link and press Enter; focus lands on the view's heading.
    await nav.getByRole('link', { name: 'Models' }).focus();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { name: 'Models', level: 2 })).toBeFocused();
    await expect(page).toHaveURL(/#\/models$/);
    // The pack picker and the device badge are in the header of every view.
    await expect(page.getByTestId('pack-picker')).toHaveValue('tiny-random');
    await page.getByTestId('backend-badge').click();
    await expect(page.getByTestId('backend')).toHaveText('webgpu');
  });

  test('screenshots of each view at desktop and phone width', async ({ page }) => {
    for (const [w, h, tag] of [
      [1280, 900, 'desktop'],
      [360, 780, 'phone'],
    ] as const) {
      await page.setViewportSize({ width: w, height: h });
      for (const view of ['imagine', 'understand', 'edit', 'compare', 'history', 'models', 'device']) {
        await page.goto(`/#/${view}`);
        await expect(page.locator('main h2').first()).toBeVisible();
        if (view === 'device') await expect(page.getByTestId('backend')).toHaveText('webgpu');
        const scroll = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        expect(scroll, `${view} at ${w}px scrolls sideways`).toBeLessThanOrEqual(0);
        await page.screenshot({ path: `${SHOTS}/${view}-${tag}.png`, fullPage: true });
      }
    }
  });
});

test.describe('bad inputs are refused with a message and no run starts', () => {
  test('Imagine: empty prompt, steps 0 / -1 / NaN / 100000, a seed beyond 2^32-1, a size not a multiple of 16', async ({
    page,
  }) => {
    await page.goto('/#/imagine');
    const run = page.getByRole('button', { name: 'Imagine', exact: true });
    await expect(page.getByLabel('Steps')).toHaveValue('50');
    await run.click();
    await expect(page.locator('#imagine-prompt-error')).toContainText('The prompt is empty');
    await expect(page.getByLabel('Prompt', { exact: true })).toBeFocused();
    await expect(page.getByTestId('imagine-output')).toHaveCount(0);

    await page.getByLabel('Prompt', { exact: true }).fill('three red squares');
    for (const bad of ['0', '-1', 'NaN', '100000']) {
      await page.getByLabel('Steps').fill(bad);
      await expect(page.locator('#imagine-steps-error')).toContainText('steps');
      await expect(page.getByLabel('Steps')).toHaveAttribute('aria-invalid', 'true');
      await run.click();
      await expect(page.getByTestId('imagine-output')).toHaveCount(0);
    }
    await page.getByLabel('Steps').fill('4');
    await expect(page.locator('#imagine-steps-error')).toBeHidden();

    await page.getByLabel('Seed', { exact: true }).fill('4294967296');
    await expect(page.locator('#imagine-seed-error')).toContainText('from 0 to 4,294,967,295');
    await run.click();
    await expect(page.getByTestId('imagine-output')).toHaveCount(0);
    await page.getByRole('button', { name: 'Random seed' }).click();
    await expect(page.locator('#imagine-seed-error')).toBeHidden();
    expect(Number(await page.getByLabel('Seed', { exact: true }).inputValue())).toBeLessThanOrEqual(2 ** 32 - 1);

    await page.getByLabel('Width').fill('50');
    await expect(page.locator('#imagine-width-error')).toContainText('multiple of 16');
    await run.click();
    await expect(page.getByTestId('imagine-output')).toHaveCount(0);
    await expect(page.getByLabel('Width')).toBeFocused();
  });

  test('Understand: a PDF as the image and an empty question', async ({ page }) => {
    await page.goto('/#/understand');
    await page
      .getByTestId('understand-image-file')
      .setInputFiles({ name: 'paper.pdf', mimeType: 'application/pdf', buffer: PDF });
    await expect(page.locator('#understand-image-error')).toContainText('“paper.pdf” is a PDF, not an image');
    await page.getByLabel('Question').fill('what is this?');
    await page.getByRole('button', { name: 'Ask' }).click();
    await expect(page.getByTestId('understand-output')).toHaveCount(0);
    // A real image replaces the refusal; an empty question is refused in turn.
    await page
      .getByTestId('understand-image-file')
      .setInputFiles({ name: 'shapes.png', mimeType: 'image/png', buffer: PNG });
    await expect(page.locator('#understand-image-error')).toBeHidden();
    await expect(page.getByTestId('understand-image-preview')).toBeVisible();
    await page.getByLabel('Question').fill('   ');
    await page.getByRole('button', { name: 'Ask' }).click();
    await expect(page.locator('#understand-question-error')).toContainText('The question is empty');
    await expect(page.getByTestId('understand-output')).toHaveCount(0);
  });

  test('Edit: a PDF dropped as the image, strength 0', async ({ page }) => {
    await page.goto('/#/edit');
    const drop = page.getByTestId('edit-image-drop');
    const dt = await page.evaluateHandle(
      (bytes) => {
        const d = new DataTransfer();
        d.items.add(new File([new Uint8Array(bytes)], 'scan.pdf', { type: 'application/pdf' }));
        return d;
      },
      [...PDF],
    );
    await drop.dispatchEvent('drop', { dataTransfer: dt });
    await expect(page.locator('#edit-image-error')).toContainText('a PDF, not an image');
    await page.getByLabel('Instruction').fill('make it blue');
    await page.getByLabel('Strength').fill('0');
    await expect(page.locator('#edit-strength-error')).toContainText('strength');
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    await expect(page.getByTestId('edit-output')).toHaveCount(0);
  });

  test('Compare: a seed beyond 2^32-1 and steps NaN in a variant', async ({ page }) => {
    await page.goto('/#/compare');
    await page.getByLabel('Seeds').fill('42, 4294967296');
    await page.locator('#cmp-0-steps').fill('NaN');
    await page.getByRole('button', { name: 'Run the grid' }).click();
    await expect(page.locator('#cmp-seeds-error')).toContainText('seed');
    await expect(page.locator('#cmp-0-steps-error')).toContainText('steps');
    await expect(page.getByTestId('compare-message')).toContainText('no cell was run');
    await expect(page.getByTestId('compare-grid')).toHaveCount(0);
  });
});

// One page: a file that only claims to be a PNG first (refused by the worker, next to the image), then the real image
// with markup as the question (a fresh page costs ~20 s of shader compiles on this CPU adapter; the checks are the
// same as when they were two tests).
const understandTitle =
  'Understand on tiny-random: a file that claims to be a PNG but is not is refused next to the image; then image ' +
  'by file picker, question, streamed reasoning and answer; markup stays text';
test(understandTitle, async ({ page }) => {
  await guard(page);
  await page.goto('/#/understand');
  await page
    .getByTestId('understand-image-file')
    .setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('definitely not a png') });
  await page.getByLabel('Question').fill('what is this?');
  await page.getByLabel('Max tokens').fill('2');
  await page.getByRole('button', { name: 'Ask' }).click();
  await expect(page.locator('#understand-image-error')).not.toBeEmpty({ timeout: 60_000 });
  await expect(page.getByTestId('understand-image-drop')).toHaveClass(/invalid/);
  await expect(page.getByTestId('understand-phase')).toHaveText('Stopped by an error.');

  await page
    .getByTestId('understand-image-file')
    .setInputFiles({ name: 'shapes.png', mimeType: 'image/png', buffer: PNG });
  await expect(page.locator('#understand-image-error')).toBeHidden();
  await page.getByLabel('Question').fill(MARKUP);
  await page.getByLabel('Max tokens').fill('16');
  await page.getByRole('button', { name: 'Ask' }).click();
  await expect(page.getByTestId('understand-phase')).toContainText(/Loading|Thinking|Answering|Done/);
  await expect(page.getByTestId('understand-phase')).toContainText('Done in', { timeout: 150_000 });
  await expect(page.getByTestId('understand-stats')).toContainText('tokens');
  await expect(page.getByTestId('understand-asked')).toHaveText(MARKUP);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(await page.locator('main img[src="x"], main script').count()).toBe(0);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: `${SHOTS}/understand-done-desktop.png`, fullPage: true });
  await page.setViewportSize({ width: 360, height: 780 });
  await page.screenshot({ path: `${SHOTS}/understand-done-phone.png`, fullPage: true });
});

test('Understand: an image by paste and by drag and drop', async ({ page }) => {
  await page.goto('/#/understand');
  const drop = page.getByTestId('understand-image-drop');
  const make = (name: string) =>
    page.evaluateHandle(
      ([bytes, n]) => {
        const d = new DataTransfer();
        d.items.add(new File([new Uint8Array(bytes as number[])], n as string, { type: 'image/png' }));
        return d;
      },
      [[...PNG], name] as const,
    );
  await drop.dispatchEvent('drop', { dataTransfer: await make('dropped.png') });
  await expect(drop).toContainText('dropped.png');
  await drop.focus();
  const pasteData = await make('pasted.png');
  await drop.evaluate(
    (el, dt) => el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt as DataTransfer, bubbles: true })),
    pasteData,
  );
  await expect(drop).toContainText('pasted.png');
});

const EDIT_PNG = readFileSync(new URL('../fixtures/tiny-random/edit_input.png', import.meta.url));

const imagineTitle =
  'Imagine on tiny-random: streamed reasoning, step previews, final image with download; cancel, then run again; ' +
  'markup in the prompt appears literally and runs nothing';
test(imagineTitle, async ({ page }) => {
  await guard(page);
  await page.goto('/#/imagine');
  await page.getByLabel('Prompt', { exact: true }).fill('draw the result of 3 apples plus 2 apples');
  await page.getByLabel('Max tokens').fill('64');
  await page.getByLabel('Steps').fill('4');
  await page.getByLabel('Width').fill('32');
  await page.getByLabel('Height').fill('32');
  const imagine = page.getByRole('button', { name: 'Imagine', exact: true });
  // Cancel at once: nothing is shown, and the next run works.
  await imagine.click();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('imagine-phase')).toContainText('Cancelled', { timeout: 120_000 });
  await expect(page.getByTestId('imagine-image')).toHaveCount(0);

  await page.getByLabel('Max tokens').fill('8');
  await page.getByLabel('Steps').fill('16');
  // Ctrl+Enter in the prompt runs it, like the button.
  await page.getByLabel('Prompt', { exact: true }).press('Control+Enter');
  // While it paints: the phase line counts steps, a progress bar fills and the previews are drawn to a canvas.
  await expect(page.getByTestId('imagine-phase')).toContainText(/Painting step \d+ of 16/, { timeout: 150_000 });
  await expect(page.getByTestId('imagine-preview')).toBeVisible();
  await expect(page.getByTestId('imagine-progress')).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/imagine-painting-desktop.png` });
  await expect(page.getByTestId('imagine-image')).toBeVisible({ timeout: 150_000 });
  await expect(page.getByTestId('imagine-phase')).toContainText('Done in');
  await expect(page.getByTestId('imagine-saved')).toHaveText('Saved in history.');
  const download = page.waitForEvent('download');
  await page.getByTestId('imagine-download').click();
  const d = await download;
  expect(d.suggestedFilename()).toBe('rg-vlm-imagine-seed42.png');
  await expect(page.locator('figcaption .muted')).toContainText('16 steps');
  const png = readFileSync(await d.path());
  expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  expect(png.includes(Buffer.from('draw the result of 3 apples plus 2 apples'))).toBe(true);
  for (const [w, h, tag] of [
    [1280, 900, 'desktop'],
    [360, 780, 'phone'],
  ] as const) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: `${SHOTS}/imagine-done-${tag}.png`, fullPage: true });
  }
  // Saved before it was shown: the History view lists it (the cancelled run is not there).
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'History' }).click();
  await expect(page.getByTestId('run')).toHaveCount(1);
  await expect(page.getByTestId('run')).toContainText('imagine');

  // Markup in the prompt appears literally and runs nothing (same page: the models are warm).
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Imagine' }).click();
  await page.getByLabel('Prompt', { exact: true }).fill(MARKUP);
  await page.getByLabel('Steps').fill('1');
  await page.getByLabel('Max tokens').fill('4');
  await page.getByRole('button', { name: 'Imagine', exact: true }).click();
  await expect(page.getByTestId('imagine-asked')).toHaveText(MARKUP);
  await expect(page.getByTestId('imagine-result-prompt')).toHaveText(MARKUP, { timeout: 150_000 });
  await expect(page.getByTestId('imagine-image')).toHaveAttribute('alt', `Generated for: ${MARKUP}`);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(await page.locator('main img[src="x"], main script').count()).toBe(0);
});

test('Edit on tiny-random: image + instruction + strength, before and after', async ({ page }) => {
  await page.goto('/#/edit');
  await page
    .getByTestId('edit-image-file')
    .setInputFiles({ name: 'edit_input.png', mimeType: 'image/png', buffer: EDIT_PNG });
  await page.getByLabel('Instruction').fill('make the red circle blue');
  await page.getByLabel('Strength').fill('0.6');
  await page.getByLabel('Steps').fill('2');
  await page.getByLabel('Max tokens').fill('8');
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  await expect(page.getByTestId('edit-after')).toBeVisible({ timeout: 170_000 });
  await expect(page.getByTestId('edit-before')).toBeVisible();
  await expect(page.getByTestId('edit-phase')).toContainText('Done in');
  for (const [w, h, tag] of [
    [1280, 900, 'desktop'],
    [360, 780, 'phone'],
  ] as const) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: `${SHOTS}/edit-done-${tag}.png`, fullPage: true });
  }
});

interface PackHints {
  examples?: string[];
  inputs: Record<'prompt' | 'instruction' | 'question', { placeholder: string; examples?: string[] }>;
  defaults: { max_new_tokens: number };
}
const packHints = (id: string): PackHints =>
  JSON.parse(readFileSync(new URL(`../../public/models/${id}/manifest.json`, import.meta.url), 'utf8')) as PackHints;

const hintsTitle =
  "every view shows the pack's placeholder and examples where the user types; a pack switch updates them, " +
  "moves untouched defaults (Compare's prompt and token budget) and keeps what was typed";
test(hintsTitle, async ({ page }) => {
  const tiny = packHints('tiny-random');
  const shapes = packHints('shapes');
  // [view link, the field typed into, the kind of input, the examples group]
  const VIEWS = [
    ['Imagine', '#imagine-prompt', 'prompt', 'imagine-examples'],
    ['Understand', '#understand-question', 'question', 'understand-examples'],
    ['Edit', '#edit-instruction', 'instruction', 'edit-examples'],
    ['RGPO lab', '#rgpo-prompt', 'prompt', 'rgpo-examples'],
    ['Compare', '#cmp-0-prompt', 'prompt', 'compare-examples'],
  ] as const;
  const nav = page.getByRole('navigation', { name: 'Views' });
  const open = async (name: string) => {
    await nav.getByRole('link', { name, exact: true }).click();
    await expect(page.getByRole('heading', { name, level: 2 })).toBeVisible();
  };
  await page.goto('/');
  await expect(page.getByTestId('pack-picker')).toHaveValue('tiny-random');
  for (const [name, field, kind, group] of VIEWS) {
    await open(name);
    await expect(page.locator(field)).toHaveAttribute('placeholder', tiny.inputs[kind].placeholder);
    await expect(page.getByTestId(group)).toHaveCount(0);
  }
  // Compare starts from the pack's token budget (the same as Imagine's) and, with no examples, no prompt.
  const budget = String(tiny.defaults.max_new_tokens);
  await expect(page.locator('#cmp-0-maxNewTokens')).toHaveValue(budget);
  await expect(page.locator('#cmp-1-maxNewTokens')).toHaveValue(budget);
  await expect(page.locator('#cmp-0-prompt')).toHaveValue('');
  await page.locator('#cmp-1-prompt').fill('my own words');
  await open('Imagine');
  await expect(page.locator('#imagine-maxNewTokens')).toHaveValue(budget);
  await page.locator('#imagine-prompt').fill('typed before the switch');

  await page.getByTestId('pack-picker').selectOption('shapes');
  for (const [name, field, kind, group] of VIEWS) {
    await open(name);
    await expect(page.locator(field)).toHaveAttribute('placeholder', shapes.inputs[kind].placeholder);
    const examples = kind === 'prompt' ? shapes.examples! : shapes.inputs[kind].examples!;
    await expect(page.getByTestId(group).getByRole('button')).toHaveText(examples);
  }
  await expect(page.locator('#cmp-0-prompt')).toHaveValue(shapes.examples![0]!);
  await expect(page.locator('#cmp-1-prompt')).toHaveValue('my own words');
  await expect(page.locator('#cmp-0-maxNewTokens')).toHaveValue(String(shapes.defaults.max_new_tokens));
  // A Compare example goes into every variant.
  await page.getByTestId('compare-examples').getByRole('button', { name: shapes.examples![2]!, exact: true }).click();
  await expect(page.locator('#cmp-0-prompt')).toHaveValue(shapes.examples![2]!);
  await expect(page.locator('#cmp-1-prompt')).toHaveValue(shapes.examples![2]!);
  await open('Understand');
  const question = shapes.inputs.question.examples![1]!;
  await page.getByTestId('understand-examples').getByRole('button', { name: question, exact: true }).click();
  await expect(page.locator('#understand-question')).toHaveValue(question);
  await expect(page.locator('#understand-question')).toBeFocused();
  await open('Imagine');
  await expect(page.locator('#imagine-prompt')).toHaveValue('typed before the switch');
  await expect(page.locator('#imagine-maxNewTokens')).toHaveValue(String(shapes.defaults.max_new_tokens));

  // Back to tiny-random: its placeholders return, the examples go, the typed text stays.
  await page.getByTestId('pack-picker').selectOption('tiny-random');
  await expect(page.locator('#imagine-prompt')).toHaveAttribute('placeholder', tiny.inputs.prompt.placeholder);
  await expect(page.getByTestId('imagine-examples')).toHaveCount(0);
  await expect(page.locator('#imagine-prompt')).toHaveValue('typed before the switch');
  await expect(page.locator('#imagine-maxNewTokens')).toHaveValue(budget);
});

test('Compare: the shareable link carries the configuration (not images) and a hand-edited one is refused', async ({
  page,
  context,
}) => {
  await page.goto('/#/compare');
  await page.locator('#cmp-0-prompt').fill('two blue squares <b>bold?</b>');
  await page.locator('#cmp-1-label').fill('plain');
  await page.locator('#cmp-1-prefix').fill('Paint this:\n');
  await page.getByLabel('Seeds').fill('5, 6, 7');
  await page.getByRole('button', { name: 'Copy a shareable link' }).click();
  const link = await page.getByTestId('compare-link').inputValue();
  expect(link).toMatch(/#\/compare\?c=[\w-]+$/);
  const other = await context.newPage();
  await other.goto(link);
  await expect(other.locator('#cmp-0-prompt')).toHaveValue('two blue squares <b>bold?</b>');
  await expect(other.locator('#cmp-1-label')).toHaveValue('plain');
  await expect(other.locator('#cmp-1-prefix')).toHaveValue('Paint this:\n');
  await expect(other.getByLabel('Seeds')).toHaveValue('5, 6, 7');
  await other.goto('/#/compare?c=not-a-config');
  await other.reload();
  await expect(other.getByTestId('compare-message')).toContainText('damaged');
});

const compareTitle =
  'Compare 2 variants × 2 seeds fills 4 cells, diffs two, ' +
  'exports a zip whose JSON lists them, and a reload restores the grid';
test(compareTitle, async ({ page }) => {
  test.setTimeout(420_000);
  await page.goto('/#/compare');
  for (const i of [0, 1]) {
    // tiny-random lists no example prompts, so its variants start with an empty prompt.
    await page.locator(`#cmp-${i}-prompt`).fill('draw the result of 3 apples plus 2 apples');
    await page.locator(`#cmp-${i}-steps`).fill('2');
    await page.locator(`#cmp-${i}-width`).fill('32');
    await page.locator(`#cmp-${i}-height`).fill('32');
    await page.locator(`#cmp-${i}-maxNewTokens`).fill('8');
  }
  await page.getByLabel('Seeds').fill('42, 7');
  await page.getByRole('button', { name: 'Run the grid' }).click();
  await expect(page.getByTestId('cell')).toHaveCount(4);
  await expect(page.locator('[data-testid=cell][data-status=done]')).toHaveCount(4, { timeout: 400_000 });
  await expect(page.getByTestId('compare-message')).toContainText('4 of 4 cells finished');
  const cells = page.getByTestId('cell');
  await cells.nth(0).getByLabel('Select for diff').check();
  await cells.nth(3).getByLabel('Select for diff').check();
  await expect(page.getByTestId('compare-diff')).toContainText('v1-s42');
  await expect(page.getByTestId('compare-diff')).toContainText('v2-s7');
  expect(await page.getByTestId('compare-diff-text').locator('ins, del').count()).toBeGreaterThan(0);

  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export the grid (zip)' }).click();
  const files = unzipSync(new Uint8Array(readFileSync(await (await download).path())));
  const grid = JSON.parse(strFromU8(files['grid.json']!)) as {
    cells: { key: string; image: string; status: string; reasoning: string; tokens: number }[];
  };
  expect(grid.cells.map((c) => c.key).sort()).toEqual(['v1-s42', 'v1-s7', 'v2-s42', 'v2-s7']);
  for (const c of grid.cells) {
    expect(c.status).toBe('done');
    expect([...files[c.image]!.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  }
  for (const [w, h, tag] of [
    [1280, 900, 'desktop'],
    [360, 780, 'phone'],
  ] as const) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: `${SHOTS}/compare-done-${tag}.png`, fullPage: true });
  }

  // The URL carries the configuration; a reload finds the finished cells in history.
  expect(page.url()).toMatch(/#\/compare\?c=/);
  await page.reload();
  await expect(page.locator('[data-testid=cell][data-status=done]')).toHaveCount(4);
  await expect(page.getByTestId('compare-message')).toContainText('Restored 4 cells');
});
