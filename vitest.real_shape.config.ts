// `npm run test:real-shape`: the heavy real-shape checks (tests/real_shape/), on the gpu project's browser setup,
// kept out of `npm test` (vitest.config.ts does not include tests/real_shape/).
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

const projects = base.test?.projects as { test: { name: string } }[];
const gpu = projects.find((p) => p.test.name === 'gpu')!;

export default defineConfig({
  ...base,
  test: {
    projects: [
      {
        ...gpu,
        test: {
          ...gpu.test,
          name: 'real-shape',
          include: ['tests/real_shape/**/*.test.ts'],
          exclude: [],
          maxWorkers: 1,
          testTimeout: 1_800_000,
          hookTimeout: 1_800_000,
        },
      },
    ],
  },
});
