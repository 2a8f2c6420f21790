/**
 * Without WebGPU (Chromium launched without the WebGPU flags): Imagine runs on onnxruntime-web's WASM backend with
 * the reference painter (painter.onnx, CPU Euler) and still gives the PyTorch fixture image within 2/255.
 */
import { afterAll, expect, it } from 'vitest';
import { chooseBackend } from '../../../src/runtime/backend';
import { imagine } from '../../../src/pipeline/imagine';
import { releaseNegativeConditions } from '../../../src/pipeline/paint';
import { decodePngRgba } from '../../../src/pipeline/png';
import { releasePainters } from '../../../src/models/painter';
import { releaseReasoners } from '../../../src/models/reasoner';
import { fixtureF32, fx, tinyRandom } from '../models/painter_fixtures';

afterAll(async () => {
  await releaseNegativeConditions();
  await releasePainters();
  await releaseReasoners();
});

it('Imagine on WASM (reference painter) equals the PyTorch fixture within 2/255', async () => {
  const choice = await chooseBackend();
  expect(choice.backend).toBe('wasm');
  const I = fx.imagine;
  const r = await imagine(
    {
      runId: 'wasm-1',
      pack: 'tiny-random',
      prompt: I.prompt,
      cot: I.cot,
      maxNewTokens: I.max_new_tokens,
      width: I.width,
      height: I.height,
      steps: I.steps,
      guidance: I.guidance,
      seed: I.seed,
    },
    undefined,
    { source: tinyRandom(), choice },
  );
  expect(r.engine).toBe('reference');
  expect(r.backend).toBe('wasm');
  const img = await fixtureF32(I.image.file);
  const px = decodePngRgba(r.png).rgba;
  const n = I.width * I.height;
  let m = 0;
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < n; i++)
      m = Math.max(
        m,
        Math.abs(px[i * 4 + c]! - Math.floor(Math.min(1, Math.max(0, img[c * n + i]! * 0.5 + 0.5)) * 255 + 0.5)),
      );
  console.log(`Imagine on WASM: max pixel Δ = ${m}/255, timings ${JSON.stringify(r.timings)}`);
  expect(m).toBeLessThanOrEqual(2);
});
