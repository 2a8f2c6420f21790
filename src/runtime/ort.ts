/**
 * @file The only module that imports onnxruntime-web.
 *
 * It owns session creation and the choice of execution provider. On WebGPU, sessions run on the native WebGPU EP
 * (`onnxruntime-web/webgpu`) with *our* device passed in, so ORT tensors and our kernels share buffers. Without a
 * WebGPU adapter it falls back to WASM automatically. The `.wasm`/`.mjs` companions are served from our own origin
 * under `/ort/<content hash>/` (see vite.config.ts), never from a CDN.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { RgError } from '../errors';

export type Backend = 'webgpu' | 'wasm';
export type OrtTensor = ort.Tensor;
export type OrtSession = ort.InferenceSession;
export type OrtFeeds = Record<string, ort.Tensor>;

/** Where the build serves onnxruntime-web's companions: `/ort/<content hash>/` (defined in vite.config.ts). */
declare const __RG_ORT_BASE__: string;

let configured = false;

/** Points ORT at our own copies of its companions and picks a thread count (threads need cross-origin isolation). */
export function configureOrt(base = typeof __RG_ORT_BASE__ === 'string' ? __RG_ORT_BASE__ : '/ort/'): void {
  if (configured) return;
  configured = true;
  ort.env.wasm.wasmPaths = base;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = (globalThis.navigator as Navigator | undefined)?.hardwareConcurrency ?? 1;
  ort.env.wasm.numThreads = isolated ? Math.max(1, Math.min(4, cores)) : 1;
  ort.env.logLevel = 'error';
}

export interface SessionOptions {
  backend: Backend;
  /** Required for 'webgpu': the shared device from src/gpu/device.ts. */
  device?: GPUDevice;
  /** Output names kept on the GPU (e.g. KV cache and hidden states); others come back to the CPU. */
  gpuOutputs?: string[];
  label?: string;
}

/** Creates a session from ONNX bytes on the chosen backend. */
export async function createSession(model: Uint8Array, opts: SessionOptions): Promise<ort.InferenceSession> {
  configureOrt();
  const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] =
    opts.backend === 'webgpu'
      ? [{ name: 'webgpu', device: requireDevice(opts) } as ort.InferenceSession.WebGpuExecutionProviderOption]
      : ['wasm'];
  const preferredOutputLocation =
    opts.backend === 'webgpu' && opts.gpuOutputs?.length
      ? Object.fromEntries(opts.gpuOutputs.map((n) => [n, 'gpu-buffer' as const]))
      : undefined;
  try {
    return await ort.InferenceSession.create(model, {
      executionProviders,
      preferredOutputLocation,
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw new RgError(
      'RUNTIME',
      `onnxruntime-web could not load ${opts.label ?? 'a model'} on ${opts.backend}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

function requireDevice(opts: SessionOptions): GPUDevice {
  if (!opts.device) throw new RgError('INTERNAL', 'createSession: the webgpu backend needs the shared GPUDevice');
  return opts.device;
}

/** A CPU tensor. */
export function cpuTensor(type: 'float32', data: Float32Array, dims: readonly number[]): ort.Tensor;
export function cpuTensor(type: 'int64', data: BigInt64Array, dims: readonly number[]): ort.Tensor;
export function cpuTensor(type: 'int32', data: Int32Array, dims: readonly number[]): ort.Tensor;
export function cpuTensor(
  type: 'float32' | 'int64' | 'int32',
  data: Float32Array | BigInt64Array | Int32Array,
  dims: readonly number[],
): ort.Tensor {
  return new ort.Tensor(type, data, dims);
}

/**
 * Wraps one of our GPU buffers as an ORT input tensor without a copy. ORT does not own the buffer: the caller keeps
 * ownership and destroys it.
 */
export function gpuTensor(
  buffer: GPUBuffer,
  dims: readonly number[],
  dataType: 'float32' | 'int64' | 'int32' | 'float16' = 'float32',
): ort.Tensor {
  return ort.Tensor.fromGpuBuffer(buffer, { dataType, dims });
}

/** The GPU buffer behind an ORT output tensor kept on the GPU. */
export function bufferOf(t: ort.Tensor): GPUBuffer {
  if (t.location !== 'gpu-buffer') throw new RgError('INTERNAL', `expected a gpu-buffer tensor, got ${t.location}`);
  return t.gpuBuffer as GPUBuffer;
}

/** Runs a session. */
export async function run(
  session: ort.InferenceSession,
  feeds: OrtFeeds,
  fetches?: string[],
): Promise<Record<string, ort.Tensor>> {
  try {
    return fetches ? await session.run(feeds, fetches) : await session.run(feeds);
  } catch (e) {
    throw new RgError('RUNTIME', `onnxruntime-web run failed: ${(e as Error).message}`, { cause: e });
  }
}

/** The onnxruntime-web version in use, for the device panel and run records. */
export function ortVersion(): string {
  return ort.env.versions.web ?? 'unknown';
}
