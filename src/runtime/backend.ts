/**
 * @file Picks the backend for a run: WebGPU with the shared device when an adapter exists, WASM otherwise (with the
 * reason kept for the device panel).
 */
import { acquireDevice } from '../gpu/device';
import { RgError } from '../errors';
import type { Backend } from './ort';

export interface BackendChoice {
  backend: Backend;
  device?: GPUDevice;
  reason?: string;
}

/** WebGPU with the shared device, or WASM with the reason WebGPU is not used. */
export async function chooseBackend(): Promise<BackendChoice> {
  try {
    return { backend: 'webgpu', device: await acquireDevice() };
  } catch (e) {
    if (e instanceof RgError && e.code === 'NO_WEBGPU') return { backend: 'wasm', reason: e.message };
    throw e;
  }
}
