/**
 * Item 6 of issue 17 in real Chromium WebGPU: a device lost in the middle of an Imagine run ends the run with
 * DEVICE_LOST (not the pipeline's next error on the dead device), and a retry succeeds on a fresh device; an adapter
 * that refuses `requestDevice` makes the app fall back to WASM with the browser's reason.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, capabilities, destroyDevice } from '../../../src/gpu/device';
import { chooseBackend } from '../../../src/runtime/backend';
import { imagine, type ImagineRequest } from '../../../src/pipeline/imagine';
import { releaseNegativeConditions } from '../../../src/pipeline/paint';
import { releasePainters } from '../../../src/models/painter';
import { releaseReasoners } from '../../../src/models/reasoner';
import { RgError } from '../../../src/errors';
import philox from '../../../shaders/philox.wgsl?raw';
import sampleWgsl from '../../../shaders/sample.wgsl?raw';

const SAMPLE_CODE = `${philox}\n${sampleWgsl}`;
import { endRun, startRun } from '../../../src/pipeline/events';
import { guardDeviceLoss } from '../../../src/worker/device_guard';
import { looksLikePng } from '../../../src/store/history';
import type { RgEvent } from '../../../src/worker/api';
import { fx, tinyRandom } from '../models/painter_fixtures';

const I = fx.imagine;
const request = (runId: string): ImagineRequest => ({
  runId,
  pack: 'tiny-random',
  prompt: I.prompt,
  // Few tokens and no thinking: the retry stays short.
  cot: false,
  maxNewTokens: 4,
  width: I.width,
  height: I.height,
  steps: I.steps,
  guidance: I.guidance,
  seed: I.seed,
});

/** One run as the worker runs it: registered for cancel, guarded against device loss, on a fresh backend choice. */
async function guardedRun(runId: string, onEvent?: (e: RgEvent) => void) {
  const signal = startRun(runId);
  try {
    const deps = { source: tinyRandom(), choice: chooseBackend, signal };
    return await guardDeviceLoss(runId, () => imagine(request(runId), (e) => onEvent?.(e), deps));
  } finally {
    endRun(runId, signal);
  }
}

describe('device loss and device creation failure', () => {
  afterAll(async () => {
    await releaseNegativeConditions();
    await releasePainters();
    await releaseReasoners();
  });

  it('a device lost mid-run rejects the run with DEVICE_LOST; a retry succeeds on a fresh device', async () => {
    const before = await acquireDevice();
    let err: unknown;
    try {
      // Lost at the reasoner's first token: the run is well under way (models loaded, work queued on the device).
      await guardedRun('lost-1', (e) => e.type === 'token' && destroyDevice(false));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RgError);
    expect((err as RgError).code).toBe('DEVICE_LOST');
    expect((err as RgError).message).toContain('lost during the run');
    expect((err as RgError).hint).toContain('Retry');
    const retry = await guardedRun('lost-retry');
    expect(looksLikePng(retry.png)).toBe(true);
    const after = await acquireDevice();
    expect(after).not.toBe(before);
  }, 400_000);

  it('an error the dead device raises before its loss is announced still ends the run with DEVICE_LOST', async () => {
    const device = await acquireDevice();
    const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    // The GPU process busy for seconds compiling a pipeline (the full sampling kernel, ~2-5 s on SwiftShader, made
    // unique so no cache answers): it announces the loss only after that, while the pending map fails at once, as in
    // a run that loses its device while the next token's kernels compile.
    device.createComputePipeline({
      layout: 'auto',
      compute: {
        module: device.createShaderModule({ code: `${SAMPLE_CODE}\nconst SALT_${Date.now()} = 1u;` }),
        entryPoint: 'main',
      },
    });
    const err = await guardDeviceLoss('lost-early', async () => {
      const mapping = buf.mapAsync(GPUMapMode.READ);
      device.destroy(); // as a real loss: the shared device is still the held one until device.lost settles
      await mapping; // rejects at once ("unmapped before mapping was resolved"), before device.lost settles
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RgError);
    expect((err as RgError).code).toBe('DEVICE_LOST');
    expect((err as RgError).message).toContain('destroyed');
    // An error of ours with no loss behind it is passed on as it is, without waiting.
    const t0 = performance.now();
    const bad = await guardDeviceLoss('no-loss', () => Promise.reject(new RgError('BAD_INPUT', 'x'))).catch((e) => e);
    expect((bad as RgError).code).toBe('BAD_INPUT');
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('an adapter that refuses requestDevice falls back to WASM with the reason', async () => {
    destroyDevice(true);
    const original = GPUAdapter.prototype.requestDevice;
    // A real refusal from the browser: ask for a maxBufferSize beyond what the adapter offers.
    GPUAdapter.prototype.requestDevice = function (this: GPUAdapter, desc?: GPUDeviceDescriptor) {
      const requiredLimits = { ...desc?.requiredLimits, maxBufferSize: this.limits.maxBufferSize * 4 };
      return original.call(this, { ...desc, requiredLimits });
    };
    try {
      const choice = await chooseBackend();
      expect(choice.backend).toBe('wasm');
      expect(choice.device).toBeUndefined();
      expect(choice.reason).toContain('The GPU adapter could not create a device');
      const caps = await capabilities();
      expect(caps.available).toBe(false);
      expect(caps.reason).toContain('could not create a device');
    } finally {
      GPUAdapter.prototype.requestDevice = original;
    }
    // The failure is not remembered: with the adapter willing again, the next choice is WebGPU.
    expect((await chooseBackend()).backend).toBe('webgpu');
  });
});
