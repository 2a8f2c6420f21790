import { expect, it } from 'vitest';
import { chooseBackend } from '../../../src/runtime/backend';
import { runSelfTest } from '../../../src/runtime/self_test';

it('falls back to WASM without a WebGPU adapter and runs the same ORT graph', async () => {
  const choice = await chooseBackend();
  expect(choice.backend).toBe('wasm');
  expect(choice.reason).toMatch(/WebGPU|adapter/);
  const res = await runSelfTest(choice);
  expect(res.backend).toBe('wasm');
  expect(res.ok).toBe(true);
  expect(res.output).toEqual([-1, 0, 1, 2, 3, 4, 5, 6]);
});
