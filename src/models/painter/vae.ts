/**
 * @file The VAE through onnxruntime-web (docs/formats.md "VAE"). On a GPU the decoder reads the painter's latents
 * straight from our GPU buffer (`gpuTensor`, no copy) and the encoder's mean stays on the GPU for the edit start;
 * only the decoded image comes back to the CPU. On WASM everything is CPU tensors. On a fallback (CPU) adapter the
 * VAE runs on onnxruntime's WASM backend even though the painter uses WebGPU (`vaeBackend`). A latent whose decode
 * would make a tensor beyond the backend's limit is decoded in overlapping tiles (vae_tiles.ts), from the CPU.
 */
import { ortSideBackend, type BackendChoice, type OrtSideOption } from '../../runtime/backend';
import { bufferOf, cpuTensor, createSession, gpuTensor, run, type OrtSession, type OrtTensor } from '../../runtime/ort';
import type { PackSource } from '../../packs/source';
import type { VaeConfig } from '../../packs/manifest';
import { RgError } from '../../errors';
import { readF32, uploadBuffer } from '../../gpu/readback';
import { decodeTiled, vaeDecodeBytes, vaeTileSide } from './vae_tiles';

const f = Math.fround;

/** On WASM, the largest tensor one decode may make: several live at once in its 4 GiB heap. */
const WASM_TENSOR_LIMIT = 512 * 1024 * 1024;

/** Where the VAE runs: `auto` is `ortSideBackend`'s rule; the others force it (tests, benchmarks). */
export type VaeBackendOption = OrtSideOption;

/** The VAE's backend for a painter on `choice`: WASM on a fallback adapter (see `ortSideBackend`). */
export function vaeBackend(choice: BackendChoice, option: VaeBackendOption = 'auto'): 'webgpu' | 'wasm' {
  return ortSideBackend(choice, option);
}

/** The encoder's mean on the GPU for the edit start; `release()` once the GPU work reading it has finished. */
export interface GpuMean {
  buffer: GPUBuffer;
  release(): void;
}

export class Vae {
  private encoderSession: Promise<OrtSession> | null = null;

  private constructor(
    readonly source: PackSource,
    readonly config: VaeConfig,
    /** Where the ORT sessions run (`vaeBackend`); `device` is the painter's, for the readback and upload. */
    readonly backend: 'webgpu' | 'wasm',
    readonly device: GPUDevice | undefined,
    private readonly decoder: OrtSession,
    private readonly encoderPath: string,
  ) {}

  static async load(source: PackSource, choice: BackendChoice, option: VaeBackendOption = 'auto'): Promise<Vae> {
    const m = await source.manifest();
    const backend = vaeBackend(choice, option);
    const bytes = await source.file(m.paths.vae_decoder);
    const decoder = await createSession(bytes, {
      backend,
      device: backend === 'webgpu' ? choice.device : undefined,
      label: 'vae_decoder',
    });
    return new Vae(source, m.vae, backend, choice.device, decoder, m.paths.vae_encoder);
  }

  private encoder(): Promise<OrtSession> {
    this.encoderSession ??= this.source
      .file(this.encoderPath)
      .then((b) =>
        createSession(b, {
          backend: this.backend,
          device: this.backend === 'webgpu' ? this.device : undefined,
          gpuOutputs: this.backend === 'webgpu' ? ['latent_sample'] : [],
          label: 'vae_encoder',
        }),
      )
      .catch((e) => {
        this.encoderSession = null;
        throw e;
      });
    return this.encoderSession;
  }

  /**
   * The tile side (latent units) for decoding h × w, or null when the whole latent fits: its largest tensor within
   * the device's storage binding limit (WebGPU) or WASM_TENSOR_LIMIT.
   */
  tileFor(h: number, w: number, limit = this.tensorLimit()): number | null {
    return vaeDecodeBytes(this.config, h, w) <= limit ? null : vaeTileSide(this.config, h, w, limit);
  }

  private tensorLimit(): number {
    const d = this.backend === 'webgpu' ? this.device : undefined;
    return d ? Math.min(d.limits.maxStorageBufferBindingSize, d.limits.maxBufferSize) : WASM_TENSOR_LIMIT;
  }

  /**
   * Decodes `zin` (already z / scale + shift, [1, C, h, w]) held in one of our GPU buffers, the painter's device
   * (submitted work included); returns [1, 3, h·d, w·d]. On WASM, or for a latent too large to decode whole (then
   * in tiles), the latents are read back first.
   */
  async decodeGpu(zin: GPUBuffer, h: number, w: number): Promise<Float32Array> {
    const C = this.config.latent_channels;
    const dims = [1, C, h, w];
    const tile = this.tileFor(h, w);
    if (this.backend === 'webgpu' && tile === null) return this.decodeTensor(gpuTensor(zin, dims));
    const x = await readF32(this.gpu(), zin, C * h * w);
    if (tile !== null) return this.decodeTiles(x, h, w, tile);
    return this.decodeTensor(cpuTensor('float32', x, dims));
  }

  private gpu(): GPUDevice {
    if (!this.device) throw new RgError('INTERNAL', 'the VAE has no WebGPU device for a GPU buffer');
    return this.device;
  }

  /** Decodes latents z ([1, C, h, w], CPU) applying z / scale + shift first (the reference / WASM path). */
  async decodeCpu(z: Float32Array, h: number, w: number): Promise<Float32Array> {
    const { scaling_factor: s, shift_factor: t } = this.config;
    const x = z.map((v) => f(f(v / s) + t));
    const tile = this.tileFor(h, w);
    if (tile !== null) return this.decodeTiles(x, h, w, tile);
    return this.decodeTensor(cpuTensor('float32', x, [1, this.config.latent_channels, h, w]));
  }

  /** Decodes x (already z / scale + shift) in tiles of `tile` latent rows and columns, a quarter overlapping. */
  decodeTiles(x: Float32Array, h: number, w: number, tile: number): Promise<Float32Array> {
    const C = this.config.latent_channels;
    const one = (sub: Float32Array, th: number, tw: number) =>
      this.decodeTensor(cpuTensor('float32', sub, [1, C, th, tw]));
    return decodeTiled(one, x, C, h, w, this.config.downscale, tile, Math.max(1, Math.floor(tile / 4)));
  }

  private async decodeTensor(input: OrtTensor): Promise<Float32Array> {
    const out = (await run(this.decoder, { latent_sample: input })).sample;
    if (!out) throw new RgError('RUNTIME', 'vae_decoder returned no sample');
    try {
      return (out.location === 'cpu' ? out.data : await out.getData()) as Float32Array;
    } finally {
      out.dispose();
    }
  }

  /**
   * Encodes an image [1, 3, H, W] in [−1, 1] to the mean m [1, C, H/ds, W/ds] (unscaled). On WebGPU the result is a
   * GPU tensor (see `encodeGpu`); dispose it once read.
   */
  async encode(x: Float32Array, H: number, W: number): Promise<OrtTensor> {
    const enc = await this.encoder();
    const out = (await run(enc, { sample: cpuTensor('float32', x, [1, 3, H, W]) })).latent_sample;
    if (!out) throw new RgError('RUNTIME', 'vae_encoder returned no latent_sample');
    return out;
  }

  /** The mean of `encode` in a GPU buffer of the painter's device: the ORT tensor's own, or an upload of it. */
  async encodeGpu(x: Float32Array, H: number, W: number): Promise<GpuMean> {
    const t = await this.encode(x, H, W);
    if (t.location === 'gpu-buffer') return { buffer: bufferOf(t), release: () => t.dispose() };
    try {
      const buffer = uploadBuffer(this.gpu(), t.data as Float32Array, 'vae mean');
      return { buffer, release: () => buffer.destroy() };
    } finally {
      t.dispose();
    }
  }

  /** x1 = (m − shift) · scale on the CPU (reference / WASM path). */
  async encodeCpu(x: Float32Array, H: number, W: number): Promise<Float32Array> {
    const t = await this.encode(x, H, W);
    try {
      const m = (t.location === 'cpu' ? t.data : await t.getData()) as Float32Array;
      const { scaling_factor: s, shift_factor: sh } = this.config;
      return m.map((v) => f(f(v - sh) * s));
    } finally {
      t.dispose();
    }
  }

  async dispose(): Promise<void> {
    const sessions = [this.decoder];
    if (this.encoderSession) sessions.push(await this.encoderSession.catch(() => null as never));
    await Promise.all(sessions.filter(Boolean).map((s) => s.release()));
  }
}

/** RGB bytes [H, W, 3] from the VAE output [1, 3, H, W]: floor(clamp(x · 0.5 + 0.5, 0, 1) · 255 + 0.5) in f32. */
export function toPixels(img: Float32Array, H: number, W: number): Uint8Array {
  const out = new Uint8Array(H * W * 3);
  const n = H * W;
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < n; i++) {
      const v = f(Math.min(1, Math.max(0, f(f(img[c * n + i]! * 0.5) + 0.5))) * 255);
      out[i * 3 + c] = Math.floor(f(v + 0.5));
    }
  return out;
}

/** The VAE encoder's input [1, 3, H, W] = pixel / 127.5 − 1 from RGBA or RGB bytes [H, W, ch]. */
export function vaeInputFromPixels(px: ArrayLike<number>, H: number, W: number, channels: 3 | 4): Float32Array {
  const out = new Float32Array(3 * H * W);
  const n = H * W;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = f(f(px[i * channels + c]! / 127.5) - 1);
  return out;
}
