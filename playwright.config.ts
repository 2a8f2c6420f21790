import { defineConfig } from '@playwright/test';
import { findChromium, QUIET_ARGS, WEBGPU_ARGS } from './src/cli/browser.mjs';

const executablePath = findChromium();
const port = Number(process.env.E2E_PORT ?? 4317);

export default defineConfig({
  testDir: 'tests/e2e',
  // Generous: two spec files run at once on two cores; a guard against a hang, never a speed check.
  timeout: 300_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  // Two spec files at once (tests within a file stay in order): much of an e2e test is waiting on the GPU process.
  workers: 2,
  reporter: [['list']],
  // Tests tagged @heavy (a minute or more, each with a smaller sibling in `npm test`) run in `npm run test:heavy` only.
  grepInvert: process.env.RG_TEST_HEAVY ? undefined : /@heavy/,
  use: { baseURL: `http://127.0.0.1:${port}` },
  webServer: {
    command: `npx vite build --logLevel error && npx vite preview --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: !process.env.CI,
    timeout: 180_000,
  },
  projects: [
    {
      name: 'webgpu',
      testIgnore: /\.nogpu\.spec\.ts$/,
      use: { launchOptions: { executablePath, args: [...WEBGPU_ARGS, ...QUIET_ARGS] } },
    },
    {
      name: 'nogpu',
      testMatch: /\.nogpu\.spec\.ts$/,
      use: { launchOptions: { executablePath, args: ['--no-sandbox', ...QUIET_ARGS] } },
    },
  ],
});
