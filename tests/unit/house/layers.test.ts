// Imports in src/ only point down the layers (tests/unit/house/layers.ts has the rule and the checker). The first
// test runs the checker on the real tree; the others run it on small in-memory trees, so a checker that reports
// nothing (a broken parser, a rule that allows everything) fails here instead of passing vacuously.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { checkLayers, formatViolation, forbidden, importsOf, RANKS, readSources, roomOf, SAME_RANK } from './layers';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The violations of an in-memory tree, as `file -> spec` pairs. */
const pairs = (files: Record<string, string>) =>
  checkLayers(new Map(Object.entries(files))).map((v) => [v.file, v.spec]);

/** Source lines joined into one file's text. */
const lines = (...xs: string[]) => xs.join('\n') + '\n';

describe('layers: imports in src/ only point down', () => {
  it('holds for the tree', () => {
    const files = readSources(ROOT);
    // The checker did read the tree: every room has files, and it found the imports they make.
    expect(files.size).toBeGreaterThan(100);
    for (const room of Object.keys(RANKS))
      expect(
        [...files.keys()].some((f) => roomOf(f) === room),
        room,
      ).toBe(true);
    const imports = [...files].reduce((n, [f, text]) => n + importsOf(f, text).length, 0);
    expect(imports).toBeGreaterThan(400);
    expect(checkLayers(files).map(formatViolation)).toEqual([]);
  });

  it('reports upward, sideways and cross-app imports of every form, and nothing else', () => {
    const files = {
      // upward, as a static import, an `export from`, a dynamic import, a type import, a worker and in JSDoc
      'src/models/reasoner/image.ts': "import { MAX_SIDE } from '../../pipeline/limits';\n",
      'src/pipeline/events.ts': "export type { RgEvent } from '../worker/api';\n",
      'src/runtime/self_test.ts': "const m = await import('../worker/index');\n",
      'src/kernels/add.ts': "import type { Settings } from '../ui/state/app.svelte';\n",
      'src/store/index.ts': "const w = new Worker(new URL('../worker/index.ts', import.meta.url));\n",
      'src/packs/source.ts': "/** @param {import('../store/types').PackInfo} p */\nexport const x = 1;\n",
      'src/errors.ts': "import { MAX_SIDE } from './limits';\n",
      // apps never import each other, a .svelte <script> counts
      'src/ui/views/Run.svelte': lines(
        '<script lang="ts">',
        "  import { runCli } from '../../cli/page';",
        '</script>',
        '<p>hi</p>',
      ),
      'src/bench/painter.ts': "import { mount } from '../main';\n",
      // sideways between rooms of the same rank, along no SAME_RANK edge
      'src/gpu/batch.ts': "import { fill } from '../kernels/fill';\n",
      'src/packs/manifest.ts': "import { PackStore } from '../store/pack_store';\n",
      // outside src/: tests, scripts, node_modules by path, shaders outside the kernels, a room-less folder
      'src/bench/reasoner.ts':
        "import fixtures from '../../tests/fixtures/tiny-random/fixtures.json';\n" +
        "import u from '../../node_modules/@huggingface/transformers/dist/a.mjs?url';\n",
      'src/cli/app.mjs': "import { findChromium } from '../../scripts/browser.mjs';\n",
      'src/gpu/device.ts': "import wgsl from '../../shaders/fill.wgsl?raw';\n",
      'src/worker/api.ts': "import { x } from '../helpers/x';\n",
      'src/extras/thing.ts': 'export const y = 2;\n',
      // allowed: down the layers, same room, SAME_RANK edges, packages, aliases, shaders from kernels
      'src/ui/App.svelte': '<script lang="ts">\n  import { connect } from \'../worker/client\';\n</script>\n',
      'src/ui/state/app.svelte.ts': "import { MAX_SIDE } from '../../limits';\nimport { x } from './run';\n",
      'src/main.ts': lines(
        "import App from './ui/App.svelte';",
        "import { registerServiceWorker } from './store/sw_register';",
      ),
      'src/worker/index.ts': lines(
        "import { imagine } from '../pipeline/imagine';",
        "import { acquireDevice } from '../gpu/device';",
      ),
      'src/kernels/fill.ts': lines(
        "import { GpuBatch } from '../gpu/batch';",
        "import wgsl from '../../shaders/fill.wgsl?raw';",
      ),
      'src/runtime/backend.ts': lines(
        "import { fill } from '../kernels/fill';",
        "import { acquireDevice } from '../gpu/device';",
      ),
      'src/store/pack_store.ts': lines(
        "import { parseManifest } from '../packs/manifest';",
        "import { get } from 'idb-keyval';",
      ),
      'src/bench/index.ts':
        "import u from '@rg/transformers-ort/a.mjs?url';\n" +
        "const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });\n",
      // comments and strings are not imports
      'src/models/painter/dit.ts':
        "// import { x } from '../../worker/api';\n/* import('../../ui/App.svelte') */\n" +
        'const s = "import y from \'../../cli/page\'";\n',
    };
    expect(pairs(files)).toEqual([
      ['src/bench/painter.ts', '../main'],
      ['src/bench/reasoner.ts', '../../tests/fixtures/tiny-random/fixtures.json'],
      ['src/bench/reasoner.ts', '../../node_modules/@huggingface/transformers/dist/a.mjs?url'],
      ['src/cli/app.mjs', '../../scripts/browser.mjs'],
      ['src/errors.ts', './limits'],
      ['src/extras/thing.ts', '(the file itself)'],
      ['src/gpu/batch.ts', '../kernels/fill'],
      ['src/gpu/device.ts', '../../shaders/fill.wgsl?raw'],
      ['src/kernels/add.ts', '../ui/state/app.svelte'],
      ['src/models/reasoner/image.ts', '../../pipeline/limits'],
      ['src/packs/manifest.ts', '../store/pack_store'],
      ['src/packs/source.ts', '../store/types'],
      ['src/pipeline/events.ts', '../worker/api'],
      ['src/runtime/self_test.ts', '../worker/index'],
      ['src/store/index.ts', '../worker/index.ts'],
      ['src/ui/views/Run.svelte', '../../cli/page'],
      ['src/worker/api.ts', '../helpers/x'],
    ]);
  });

  it('says why, one line per import', () => {
    const out = checkLayers(
      new Map([
        ['src/models/reasoner/prepare.ts', "import { MAX_PROMPT } from '../../pipeline/limits';\n"],
        ['src/cli/rg.mjs', "const { runBench } = await import('../../scripts/bench_run.mjs');\n"],
        ['src/ui/App.svelte', "<script>\n  import { x } from '../bench/registry';\n</script>\n"],
      ]),
    ).map(formatViolation);
    expect(out).toEqual([
      'src/cli/rg.mjs -> ../../scripts/bench_run.mjs: src/ may not import from outside src/ (scripts/)',
      'src/models/reasoner/prepare.ts -> ../../pipeline/limits: ' +
        'models may not import pipeline, a higher layer (rank 3 > 2)',
      'src/ui/App.svelte -> ../bench/registry: ui and bench are both apps; apps never import each other',
    ]);
  });

  it('has a rank for every room and same-rank edges only between rooms of one rank', () => {
    for (const [a, b] of SAME_RANK) {
      expect(RANKS[a], `${a} -> ${b}`).toBe(RANKS[b]);
      expect(forbidden(a, b)).toBeNull();
      expect(forbidden(b, a), `${b} -> ${a}`).not.toBeNull();
    }
    expect(forbidden('pipeline', 'models')).toBeNull();
    expect(forbidden('models', 'pipeline')).not.toBeNull();
    expect(roomOf('src/main.ts')).toBe('ui');
    expect(roomOf('src/limits')).toBe('limits');
    expect(roomOf('src/models')).toBe('models');
    expect(roomOf('tests/unit/x.ts')).toBeNull();
  });
});
