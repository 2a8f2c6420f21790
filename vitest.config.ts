import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { shared } from './vite.config.ts';
import { findChromium, QUIET_ARGS, WEBGPU_ARGS } from './scripts/browser.mjs';

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
          test: {
            name: 'gpu',
            include: ['tests/gpu/**/*.test.ts'],
            exclude: ['tests/gpu/**/*.nogpu.test.ts'],
            testTimeout: 120_000,
            hookTimeout: 120_000,
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
