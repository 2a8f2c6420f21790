/**
 * @file Picks the backend for a run: WebGPU with the shared device when an adapter exists, WASM otherwise (with the
 * reason kept for the device panel).
 */
import { acquireDevice, isFallbackDevice } from '../gpu/device';
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

/** Where an onnxruntime session beside our engines runs: `auto` is `ortSideBackend`'s rule; the others force it. */
export type OrtSideOption = 'auto' | 'webgpu' | 'wasm';

/**
 * The backend of an onnxruntime session whose inputs and outputs are small next to its work (the VAE, the vision
 * encoder), for a model on `choice`. On a fallback adapter (SwiftShader: the "GPU" is the CPU) onnxruntime's WebGPU
 * backend compiles a shader per operator and shape on first use — about 7 s for the 14-node tiny-random VAE decoder
 * here, again for each new size, and 50× slower steady (`npm run bench -- --filter vae`) — while its WASM backend
 * runs the same graph on the same CPU with no compile; the tensors then cross once by readback or upload.
 */
export function ortSideBackend(choice: BackendChoice, option: OrtSideOption = 'auto'): Backend {
  if (choice.backend !== 'webgpu' || !choice.device) return 'wasm';
  if (option !== 'auto') return option;
  return isFallbackDevice(choice.device) ? 'wasm' : 'webgpu';
}
