/**
 * @file The one WebGPU adapter/device of a worker (or page), shared by our kernels and onnxruntime-web.
 *
 * The device is requested with every optional feature we can use that the adapter has and with the adapter's own
 * limits, so ORT and our kernels see the same ceilings. A lost device is reported to listeners and forgotten; the
 * next `acquireDevice()` creates a fresh one. Buffers created on the device are counted so tests can prove that
 * repeated runs do not leak.
 */
import { RgError } from '../errors';

/** Optional features we take when the adapter offers them. */
export const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

/** What the device panel shows and what pipelines consult to choose kernels. */
export interface GpuCapabilities {
  available: boolean;
  /** Why WebGPU is unavailable, when it is. */
  reason?: string;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface DeviceLostInfo {
  reason: string;
  message: string;
}

interface Held {
  adapter: GPUAdapter;
  device: GPUDevice;
  caps: GpuCapabilities;
}

let held: Promise<Held> | null = null;
const lostListeners = new Set<(info: DeviceLostInfo) => void>();
const errorListeners = new Set<(message: string) => void>();
const live = new WeakMap<GPUDevice, Set<GPUBuffer>>();

const REPORTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

function gpu(): GPU | undefined {
  return (globalThis.navigator as Navigator | undefined)?.gpu;
}

/** Counts every buffer created on `device` until it is destroyed. */
function instrument(device: GPUDevice): void {
  const set = new Set<GPUBuffer>();
  live.set(device, set);
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const buf = create(desc);
    set.add(buf);
    const destroy = buf.destroy.bind(buf);
    buf.destroy = () => {
      set.delete(buf);
      destroy();
    };
    return buf;
  };
}

/** The number of buffers created on `device` and not yet destroyed (ours and onnxruntime-web's alike). */
export function liveBufferCount(device: GPUDevice): number {
  return live.get(device)?.size ?? 0;
}

/** The bytes of the buffers created on `device` and not yet destroyed. */
export function liveBufferBytes(device: GPUDevice): number {
  let bytes = 0;
  for (const b of live.get(device) ?? []) bytes += b.size;
  return bytes;
}

/** The labels of the live buffers, for leak reports. */
export function liveBufferLabels(device: GPUDevice): string[] {
  return [...(live.get(device) ?? [])].map((b) => b.label || '(unlabelled)');
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)) || 'no reason given';
}

function infoOf(adapter: GPUAdapter): GPUAdapterInfo {
  return adapter.info;
}

async function create(): Promise<Held> {
  const g = gpu();
  if (!g) throw new RgError('NO_WEBGPU', 'This browser does not expose WebGPU (navigator.gpu is missing).');
  let adapter: GPUAdapter | null;
  try {
    adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new RgError('NO_WEBGPU', `WebGPU could not be asked for an adapter: ${messageOf(e)}`, { cause: e });
  }
  if (!adapter)
    throw new RgError('NO_WEBGPU', 'WebGPU is present but no adapter is available (GPU blocked or disabled).');
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const k of REPORTED_LIMITS) requiredLimits[k] = adapter.limits[k];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'rg-vlm-web' });
  } catch (e) {
    // The adapter is there but refused a device (out of memory, a driver problem, a limit it cannot give): the same
    // fall-back as no adapter at all, with the browser's reason kept for the device panel.
    throw new RgError('NO_WEBGPU', `The GPU adapter could not create a device: ${messageOf(e)}`, { cause: e });
  }
  instrument(device);
  // Validation and out-of-memory errors nobody captured with an error scope (a shader that does not compile, a bad
  // binding): without this they only reach the console and the kernel silently writes nothing.
  device.addEventListener('uncapturederror', (ev) => {
    const message = (ev as GPUUncapturedErrorEvent).error.message;
    for (const l of errorListeners) l(message);
  });
  const info = infoOf(adapter);
  const caps: GpuCapabilities = {
    available: true,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: Boolean((info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter),
    features: [...device.features].sort(),
    limits: Object.fromEntries(REPORTED_LIMITS.map((k) => [k, device.limits[k]])),
  };
  const entry: Held = { adapter, device, caps };
  void device.lost.then((lost) => {
    // Forget this device first so that a listener that re-acquires gets a fresh one.
    if (current === entry) {
      held = null;
      current = null;
    }
    if (silenced.has(device)) return;
    for (const l of lostListeners) l({ reason: lost.reason, message: lost.message });
  });
  current = entry;
  return entry;
}

let current: Held | null = null;
const silenced = new WeakSet<GPUDevice>();

/** The shared device, created on first use. Throws RgError('NO_WEBGPU') when there is no adapter. */
export async function acquireDevice(): Promise<GPUDevice> {
  held ??= create().catch((e) => {
    held = null;
    throw e;
  });
  return (await held).device;
}

/** The capabilities of the shared device, or an `available: false` report saying why there is none. */
export async function capabilities(): Promise<GpuCapabilities> {
  try {
    await acquireDevice();
    return (await held!).caps;
  } catch (e) {
    return {
      available: false,
      reason: e instanceof Error ? e.message : String(e),
      vendor: '',
      architecture: '',
      device: '',
      description: '',
      isFallbackAdapter: false,
      features: [],
      limits: {},
    };
  }
}

/** Whether f16 kernels can be used on `device`. */
export function hasF16(device: GPUDevice): boolean {
  return device.features.has('shader-f16');
}

/** Subscribes to device loss; returns the unsubscribe function. */
export function onDeviceLost(listener: (info: DeviceLostInfo) => void): () => void {
  lostListeners.add(listener);
  return () => lostListeners.delete(listener);
}

/** Subscribes to uncaptured GPU errors (validation, out of memory); returns the unsubscribe function. */
export function onUncapturedError(listener: (message: string) => void): () => void {
  errorListeners.add(listener);
  return () => errorListeners.delete(listener);
}

/**
 * Whether the shared device has died before its loss is announced (`device.lost` can settle seconds after a call on
 * the dead device failed, while the GPU process finishes earlier work): mapping a fresh buffer fails at once on a
 * destroyed or lost device and succeeds on a live one. False when no device is held.
 */
export async function sharedDeviceGone(): Promise<boolean> {
  const device = current?.device;
  if (!device) return false;
  let probe: GPUBuffer;
  try {
    probe = device.createBuffer({ label: 'liveness probe', size: 4, usage: GPUBufferUsage.MAP_READ });
  } catch {
    return true;
  }
  try {
    await probe.mapAsync(GPUMapMode.READ);
    return false;
  } catch {
    return true;
  } finally {
    probe.destroy();
  }
}

/** Destroys the shared device (tests use this to simulate a loss; `silent` skips the listeners). */
export function destroyDevice(silent = false): void {
  if (!current) return;
  const dev = current.device;
  if (silent) silenced.add(dev);
  held = null;
  current = null;
  dev.destroy();
}

/** What the adapter-kind rules (matmul's kernel and tile, where onnxruntime runs) read of a device. */
export interface AdapterKind {
  adapterInfo?: { isFallbackAdapter?: boolean };
}

/**
 * Whether `device` runs on a fallback adapter: a CPU implementation such as SwiftShader (Chromium reports
 * `isFallbackAdapter: true` and architecture "swiftshader" for it). There a workgroup's invocations run in
 * groups of 4 on a few CPU threads, every workgroup barrier switches between those groups, every pipeline is
 * compiled for the CPU (about a second for a kernel with loops and barriers), and there is no memory coalescing
 * to win: src/kernels/matmul.ts and src/runtime/backend.ts choose differently there.
 */
export function isFallbackDevice(device: AdapterKind): boolean {
  return device.adapterInfo?.isFallbackAdapter === true;
}
