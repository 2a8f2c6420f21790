/**
 * The `rg` command line end to end: the real bin/rg.mjs in a child process, driving the built app (dist/, the build
 * this Playwright run serves) in its own headless Chromium. `generate` and `edit` on tiny-random with the fixture's
 * settings write the PyTorch fixture images (decoded pixels within 2/255; the PNG bytes differ by their text chunks)
 * plus result.json; `compare` writes a folder per line and the summaries; bad arguments and inputs exit 2 with a
 * one-line reason and write nothing.
 */
import { expect, test } from '@playwright/test';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePngRgba } from '../../src/pipeline/png';
import { ROOT, rg } from './rg_cli';
import { cascadeReposOnDisk } from '../helpers/hub_repos';

const FIX = join(ROOT, 'tests/fixtures/tiny-random');
const fx = JSON.parse(readFileSync(join(FIX, 'fixtures.json'), 'utf8'));
const MANIFEST_SHA = createHash('sha256')
  .update(readFileSync(join(ROOT, 'public/models/tiny-random/manifest.json')))
  .digest('hex');

/** Largest |a − b| over the RGB channels of two PNGs of the same size. */
function maxPixelDiff(a: Buffer, b: Buffer): number {
  const x = decodePngRgba(new Uint8Array(a));
  const y = decodePngRgba(new Uint8Array(b));
  expect([x.width, x.height]).toEqual([y.width, y.height]);
  let m = 0;
  for (let i = 0; i < x.rgba.length; i++) if (i % 4 !== 3) m = Math.max(m, Math.abs(x.rgba[i]! - y.rgba[i]!));
  return m;
}

const fresh = () => mkdtempSync(join(tmpdir(), 'rg-cli-e2e-'));

/** `rg generate` with the Imagine fixture's prompt and settings (seed 42) on `pack`, into `out`. */
function fixtureGenerate(pack: string, out: string): string[] {
  const I = fx.imagine;
  return [
    'generate',
    '--prompt',
    I.prompt,
    '--pack',
    pack,
    '--seed',
    '42',
    '--steps',
    String(I.steps),
    '--guidance',
    String(I.guidance),
    I.cot ? '--cot' : '--no-cot',
    '--max-new-tokens',
    String(I.max_new_tokens),
    '--size',
    `${I.width}x${I.height}`,
    '--out',
    out,
  ];
}

test.describe('rg command line', () => {
  test.describe.configure({ timeout: 300_000 });

  const generateTitle =
    'generate on tiny-random, seed 42, the fixture settings: the fixture image, result.json, a JSON line on stdout';
  test(generateTitle, async () => {
    const I = fx.imagine;
    const dir = fresh();
    const out = join(dir, 'run');
    const r = await rg(fixtureGenerate('tiny-random', out));
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(['run']);
    expect(readdirSync(out).sort()).toEqual(['image.png', 'result.json']);
    const d = maxPixelDiff(readFileSync(join(out, 'image.png')), readFileSync(join(FIX, 'imagine.png')));
    console.log(`rg generate: max pixel Δ vs the fixture = ${d}/255`);
    expect(d).toBeLessThanOrEqual(2);
    const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(res).toMatchObject({
      mode: 'generate',
      prompt: I.prompt,
      settings: {
        seed: 42,
        steps: I.steps,
        guidance: I.guidance,
        cot: I.cot,
        width: I.width,
        height: I.height,
        maxNewTokens: I.max_new_tokens,
      },
      pack: { id: 'tiny-random', manifestSha256: MANIFEST_SHA },
      conditionRows: I.condition_length_positive,
      painterText: null, // tiny-random's painter reads the reasoner's hidden states
      image: 'image.png',
    });
    expect(typeof res.formatMatched).toBe('boolean');
    expect(typeof res.reasoning).toBe('string');
    expect(typeof res.answer).toBe('string');
    expect(res.timings.totalMs).toBeGreaterThan(0);
    const line = JSON.parse(r.stdout.trim());
    expect(line).toMatchObject({ out, image: join(out, 'image.png'), seed: 42 });
    expect(r.stderr).toContain('[painting]');
    expect(r.stderr).toContain(`steps ${I.steps}/${I.steps}`);
  });

  // Edit and compare through rg are heavy (a fresh browser and pack each): `npm run test:heavy`; the studio's Edit and
  // Compare tests and rg generate stay in `npm test`.
  test('edit on tiny-random with the fixture settings: the fixture image', { tag: '@heavy' }, async () => {
    const E = fx.edit;
    const out = join(fresh(), 'edit');
    const r = await rg([
      'edit',
      '--image',
      join(FIX, E.input_png),
      '--instruction',
      E.instruction,
      '--pack',
      'tiny-random',
      '--strength',
      String(E.strength),
      '--seed',
      String(E.seed),
      '--steps',
      String(E.steps),
      '--guidance',
      String(E.guidance),
      '--cot',
      '--max-new-tokens',
      String(E.max_new_tokens),
      '--size',
      `${E.width}x${E.height}`,
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const d = maxPixelDiff(readFileSync(join(out, 'image.png')), readFileSync(join(FIX, E.png)));
    console.log(`rg edit: max pixel Δ vs the fixture = ${d}/255`);
    expect(d).toBeLessThanOrEqual(2);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'))).toMatchObject({
      mode: 'edit',
      instruction: E.instruction,
      settings: { strength: E.strength },
    });
  });

  const compareTitle =
    'compare: a folder per line, summary.json and summary.csv; a size the pack refuses exits 2 naming the line';
  test(compareTitle, { tag: '@heavy' }, async () => {
    const dir = fresh();
    const file = join(dir, 'prompts.jsonl');
    writeFileSync(
      file,
      '{"prompt": "three red circles", "name": "circles"}\n\n{"prompt": "two squares", "cot": false, "seed": 7}\n',
    );
    const out = join(dir, 'cmp');
    const r = await rg([
      'compare',
      '--file',
      file,
      '--pack',
      'tiny-random',
      '--steps',
      '1',
      '--max-new-tokens',
      '2',
      '--size',
      '32x32',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['002', 'circles', 'summary.csv', 'summary.json']);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(
      summary.runs.map((x: { line: number; name: string; seed: number; cot: boolean }) => [
        x.line,
        x.name,
        x.seed,
        x.cot,
      ]),
    ).toEqual([
      [1, 'circles', 42, true],
      [3, '002', 7, false],
    ]);
    const csv = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\r\n');
    expect(csv).toHaveLength(3);
    expect(csv[0]).toMatch(/^line,name,prompt,/);
    expect(decodePngRgba(new Uint8Array(readFileSync(join(out, 'circles', 'image.png')))).width).toBe(32);

    // Checked against the pack's limits once the app is up, before any run: exit 2, nothing written.
    writeFileSync(file, '{"prompt": "a"}\n{"prompt": "b", "size": "40x40"}\n');
    const bad = await rg(['compare', '--file', file, '--pack', 'tiny-random', '--out', join(dir, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n').at(-1)).toBe(
      `rg: ${file}:2: width must be a multiple of 16 from 32 to 256 for pack tiny-random, got 40`,
    );
    expect(readdirSync(dir).sort()).toEqual(['cmp', 'prompts.jsonl']);
  });

  test('bad arguments and inputs exit 2 with a one-line reason and write nothing', async () => {
    const dir = fresh();
    const out = join(dir, 'out');
    const notImage = join(dir, 'notes.png');
    writeFileSync(notImage, 'these are notes, not pixels');
    const jsonl = join(dir, 'prompts.jsonl');
    writeFileSync(jsonl, '{"prompt": "one"}\n{"prompt": "two", "steps": 4,}\n');
    const cases: [string[], string][] = [
      [
        ['generate', '--prompt', 'p', '--colour', 'red', '--out', out],
        'rg: unknown option --colour for rg generate (see rg generate --help)',
      ],
      [['generate', '--prompt', 'p'], 'rg: --out is required'],
      [
        ['generate', '--prompt', 'p', '--steps', '-1', '--out', out],
        'rg: --steps must be a whole number ≥ 1, got "-1"',
      ],
      [
        ['edit', '--image', join(dir, 'missing.png'), '--instruction', 'x', '--out', out],
        `rg: --image ${join(dir, 'missing.png')}: no such file`,
      ],
      [
        ['understand', '--image', notImage, '--question', 'what?', '--out', out],
        `rg: --image ${notImage}: not an image (expected PNG, JPEG, WebP, GIF or BMP)`,
      ],
      [['compare', '--file', jsonl, '--out', out], `rg: ${jsonl}:2: not valid JSON`],
    ];
    for (const [args, reason] of cases) {
      const r = await rg(args, 60_000);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]!.startsWith(reason), `${lines[0]} should start with ${reason}`).toBe(true);
      expect(r.stdout).toBe('');
      expect(readdirSync(dir).sort()).toEqual(['notes.png', 'prompts.jsonl']);
    }
  });
});

test.describe('rg --pack PATH', () => {
  test.describe.configure({ timeout: 300_000 });

  const title = 'a pack folder on disk (a copy of tiny-random under another id) paints the fixture; bad folders exit 2';
  test(title, async () => {
    const dir = fresh();
    const pack = join(dir, 'copy');
    cpSync(join(ROOT, 'public/models/tiny-random'), pack, { recursive: true });
    const m = join(pack, 'manifest.json');
    writeFileSync(m, readFileSync(m, 'utf8').replace('"id": "tiny-random"', '"id": "tiny-copy"'));
    const out = join(dir, 'run');
    const args = (p: string, o = out) => fixtureGenerate(p, o);
    const r = await rg(args(pack));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`pack tiny-copy added from ${realpathSync(pack)}`);
    const d = maxPixelDiff(readFileSync(join(out, 'image.png')), readFileSync(join(FIX, 'imagine.png')));
    console.log(`rg generate --pack PATH: max pixel Δ vs the fixture = ${d}/255`);
    expect(d).toBeLessThanOrEqual(2);
    const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(res.pack.id).toBe('tiny-copy');
    expect(res.pack.from).toBe(realpathSync(pack));

    // Refused before any browser opens: no such folder, a file, a folder without manifest.json.
    mkdirSync(join(dir, 'empty'));
    for (const [p, why] of [
      [join(dir, 'nope'), 'no such folder'],
      [m, 'is not a folder'],
      [join(dir, 'empty'), 'has no manifest.json'],
    ]) {
      const bad = await rg(args(p!, join(dir, 'never')), 60_000);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toContain(`rg: --pack: ${p}`);
      expect(bad.stderr).toContain(why!);
    }
    // A manifest that is not a pack's: exit 2, naming the folder (not the loopback address it was served on).
    writeFileSync(m, JSON.stringify({ format: 'rg-vlm-pack', id: 'tiny-copy' }));
    const broken = await rg(args(pack, join(dir, 'never')));
    expect(broken.code, broken.stderr).toBe(2);
    expect(broken.stderr).toContain(`--pack: ${realpathSync(pack)}/manifest.json is not a pack manifest`);
    expect(broken.stderr).not.toContain('127.0.0.1');
    expect(readdirSync(dir).sort()).toEqual(['copy', 'empty', 'run']);
  });
});

// A converted checkpoint as `--pack PATH` (the replicas; heavy: two conversions in Node and a fresh browser): its
// smaller siblings in `npm test` are the in-memory conversions of tests/unit/cli/convert.test.ts and the cascade pack
// run in the studio (tests/e2e/hub_convert.spec.ts).
test('rg convert --painter, then rg generate --pack PATH on the cascade folder', { tag: '@heavy' }, async () => {
  test.setTimeout(300_000);
  const dir = fresh();
  cascadeReposOnDisk(dir);
  const pack = join(dir, 'cascade');
  const c = await rg(['convert', '--from', join(dir, 'qwen'), '--painter', join(dir, 'omnigen'), '--out', pack]);
  expect(c.code, c.stderr).toBe(0);
  expect(c.stderr).toContain(`a pack (cascade-int4): open it with rg --pack ${pack}`);
  const out = join(dir, 'run');
  const r = await rg([
    'generate',
    '--pack',
    pack,
    '--prompt',
    'a red circle',
    '--max-new-tokens',
    '4',
    '--steps',
    '1',
    '--out',
    out,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  expect(res.pack.id).toBe('cascade-int4');
  expect(typeof res.painterText).toBe('string');
  expect(res.painterText.length).toBeGreaterThan(0);
  expect(decodePngRgba(new Uint8Array(readFileSync(join(out, 'image.png')))).width).toBeGreaterThan(0);
});
