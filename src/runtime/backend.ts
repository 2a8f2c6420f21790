/**
 * @file Picks the backend for a run: WebGPU with the shared device when an adapter exists, WASM otherwise (with the
 * reason kept for the device panel). `forceWasm` lets the user or a test choose WASM on purpose.
 */
import { acquireDevice } from '../gpu/device';
import { RgError } from '../errors';
import type { Backend } from './ort';

export interface BackendChoice {
  backend: Backend;
  device?: GPUDevice;
  reason?: string;
}

let forced: Backend | null = null;

/** Forces a backend for later runs (`null` returns to automatic choice). */
export function forceBackend(b: Backend | null): void {
  forced = b;
}

/** WebGPU with the shared device, or WASM with the reason WebGPU is not used. */
export async function chooseBackend(): Promise<BackendChoice> {
  if (forced === 'wasm') return { backend: 'wasm', reason: 'WASM chosen by the user' };
  try {
    return { backend: 'webgpu', device: await acquireDevice() };
  } catch (e) {
    if (e instanceof RgError && e.code === 'NO_WEBGPU') return { backend: 'wasm', reason: e.message };
    throw e;
  }
}
