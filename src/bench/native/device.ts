/**
 * @file A WebGPU device in Node through Dawn (the npm package `webgpu`): the same API the browser gives, so the
 * kernels and engines of src/ run unchanged. Installs Dawn's globals (GPUBufferUsage, GPUMapMode, …) on globalThis,
 * which the kernels read, and keeps the GPU object referenced until `release()` (Dawn runs while it is held).
 */
import { create } from 'webgpu';
import './globals';

/** What the report says about the adapter. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
  limits: Record<string, number>;
}

export interface NativeGpu {
  adapter: GPUAdapter;
  device: GPUDevice;
  summary: AdapterSummary;
  /** Destroys the device and drops the Dawn instance so Node can exit. */
  release(): void;
}

/** Optional features a case may need; taken when the adapter has them. */
const WANTED = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

/** The adapter's limits as plain numbers (the device is requested with all of them). */
function limitsOf(adapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  const lim = adapter.limits as unknown as Record<string, unknown>;
  for (const key in lim) {
    const v = lim[key];
    if (typeof v === 'number') out[key] = v;
  }
  return out;
}

/**
 * Creates a Dawn device on the high-performance adapter with every wanted feature it has and its own limits.
 * Throws an Error saying what is missing when there is no adapter (e.g. no Vulkan loader or ICD found).
 * `dawnFlags` are passed to Dawn's `create` (e.g. `backend=vulkan`, `adapter=NAME`).
 */
export async function createNativeGpu(dawnFlags: string[] = []): Promise<NativeGpu> {
  let gpu: GPU | null = create(dawnFlags) as GPU;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      'no WebGPU adapter from Dawn: is a Vulkan loader (libvulkan.so.1) on the library path and an ICD found? ' +
        '(software: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json; ' +
        'NVIDIA: VK_DRIVER_FILES=…/nvidia_icd.json)',
    );
  }
  const features = WANTED.filter((f) => adapter.features.has(f));
  const limits = limitsOf(adapter);
  const device = await adapter.requestDevice({ requiredFeatures: [...features], requiredLimits: limits });
  const info = adapter.info;
  const summary: AdapterSummary = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    features: [...device.features].sort(),
    limits,
  };
  return {
    adapter,
    device,
    summary,
    release() {
      device.destroy();
      gpu = null;
    },
  };
}
