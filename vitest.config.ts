import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { shared } from './vite.config.ts';
import { findChromium, QUIET_ARGS, WEBGPU_ARGS } from './src/cli/browser.mjs';
import { nativeEnv } from './scripts/bench_native_env.mjs';

// Vitest 5.1's reporter calls Map.groupBy (Node 21+) when a test fails; on Node 20 that would hide the failure.
if (!('groupBy' in Map)) {
  Object.defineProperty(Map, 'groupBy', {
    value<K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, T[]> {
      const out = new Map<K, T[]>();
      let i = 0;
      for (const item of items) {
        const k = key(item, i++);
        const list = out.get(k);
        if (list) list.push(item);
        else out.set(k, [item]);
      }
      return out;
    },
  });
}

/**
 * GPU test files kept out of `npm test` (a minute or more each, mostly onnxruntime-web or transformers.js shader
 * compiles; smaller checks of the same code stay in): run by `npm run test:heavy`, or each by its own variable.
 */
const HEAVY_GPU: Record<string, string> = {
  'tests/gpu/bench/painter_onnx.test.ts': 'VITE_PAINTER_ONNX_ALL',
  'tests/gpu/bench/qwen2_onnx.test.ts': 'VITE_QWEN2_ONNX_ALL',
  'tests/gpu/models/reasoner_bench.test.ts': 'VITE_REASONER_BENCH',
  'tests/gpu/pipeline/cascade_shapes.test.ts': 'VITE_CASCADE_SHAPES',
  'tests/gpu/models/convert_vae.test.ts': 'VITE_CONVERT_VAE',
  'tests/gpu/models/painter_reference.test.ts': 'VITE_PAINTER_REFERENCE',
  'tests/gpu/models/painter_vae_webgpu.test.ts': 'VITE_PAINTER_VAE_WEBGPU',
  'tests/gpu/models/reasoner_vision_webgpu.test.ts': 'VITE_REASONER_VISION_WEBGPU',
};
function heavyExcluded(): string[] {
  if (process.env.RG_TEST_HEAVY) return [];
  return Object.entries(HEAVY_GPU)
    .filter(([, variable]) => !process.env[variable])
    .map(([file]) => file);
}

const executablePath = findChromium();

/** A headless Chromium instance; `webgpu` false launches it without the WebGPU flags (the WASM fallback case). */
function chromium(webgpu: boolean) {
  return playwright({
    launchOptions: { executablePath, args: [...(webgpu ? WEBGPU_ARGS : ['--no-sandbox']), ...QUIET_ARGS] },
  });
}

export default defineConfig({
  ...shared,
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          typecheck: { enabled: true, include: ['tests/unit/**/*.test-d.ts'], tsconfig: './tsconfig.node.json' },
        },
      },
      {
        extends: true,
        // Pre-bundled up front: discovered mid-run, Vite reloads the page and a browser test file can fail to start.
        optimizeDeps: { include: ['idb-keyval', 'fflate', 'hash-wasm', 'image-size'] },
        test: {
          name: 'gpu',
          include: ['tests/gpu/**/*.test.ts'],
          // Two test files at once, each in its own page: a file spends much of its time waiting on the GPU process
          // (shader compiles, readbacks), so two overlap well on two cores (Vitest's default here would be one).
          maxWorkers: 2,
          setupFiles: ['tests/helpers/gpu_setup.ts'],
          // A 127.0.0.1 file server with HTTP Range and fault injection, for the weights-store tests (tests/gpu/store),
          // and a loopback Hub serving the MindOmni pack replica for the in-tab conversion test (hub_pack.test.ts).
          globalSetup: ['tests/helpers/range_server.mjs', 'tests/helpers/hub_repos.ts'],
          exclude: ['tests/gpu/**/*.nogpu.test.ts', ...heavyExcluded()],
          // Generous: two files share the machine; a guard against a hang, never a speed check.
          testTimeout: 300_000,
          hookTimeout: 300_000,
          browser: {
            enabled: true,
            headless: true,
            provider: chromium(true),
            instances: [{ browser: 'chromium' }],
            screenshotFailures: false,
          },
        },
      },
      {
        extends: true,
        test: {
          // The native harness (src/bench/native) on Dawn in Node: forks, so the Vulkan loader path takes effect.
          name: 'native',
          include: ['tests/native/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          env: nativeEnv(),
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'nogpu',
          include: ['tests/gpu/**/*.nogpu.test.ts'],
          testTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            provider: chromium(false),
            instances: [{ browser: 'chromium' }],
            screenshotFailures: false,
          },
        },
      },
    ],
  },
});
