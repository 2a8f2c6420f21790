/**
 * @file Compute pipelines cached per device by a key naming what changes the generated code (kernel, dtype, shape
 * class, override constants). Pipelines die with their device, so the cache is a WeakMap keyed by device.
 */

const caches = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
const modules = new WeakMap<GPUDevice, Map<string, GPUShaderModule>>();

/** A shader module for `code` on `device`, compiled once. */
export function shaderModule(device: GPUDevice, label: string, code: string): GPUShaderModule {
  let m = modules.get(device);
  if (!m) modules.set(device, (m = new Map()));
  const key = `${label}\u0000${code}`;
  let mod = m.get(key);
  if (!mod) m.set(key, (mod = device.createShaderModule({ label, code })));
  return mod;
}

/**
 * The compute pipeline for `key`, built with `build` the first time. `key` must capture everything `build` depends
 * on (the WGSL text and override constants).
 */
export function cachedPipeline(
  device: GPUDevice,
  key: string,
  build: () => GPUComputePipelineDescriptor,
): GPUComputePipeline {
  let m = caches.get(device);
  if (!m) caches.set(device, (m = new Map()));
  let p = m.get(key);
  if (!p) m.set(key, (p = device.createComputePipeline(build())));
  return p;
}

/** How many pipelines are cached for `device` (tests check that shapes of one class share a pipeline). */
export function cachedPipelineCount(device: GPUDevice): number {
  return caches.get(device)?.size ?? 0;
}
