// The replica's vae/ (tests/fixtures/mindomni-replica, tools/make_vae_replica.py: diffusers' AutoencoderKL layout)
// converted in the browser by convertVae, then loaded by the app's own Vae class on onnxruntime-web's WebGPU EP (our
// device): the decoder fed from one of our GPU buffers and the encoder's mean match the plain-PyTorch mirror's
// (vae_reference.json), f32 and f16 files alike, and repeated runs leave no GPU buffer behind; the tiled decode's
// choice and its one-tile case. About a minute on
// SwiftShader (onnxruntime-web compiling its shaders), so out of `npm test`: `npm run test:convert-vae`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryReader, memorySink } from '../../helpers/convert_memory';
import { convertVae } from '../../../src/convert/vae';
import { acquireDevice, liveBufferCount, liveBufferLabels } from '../../../src/gpu/device';
import { Vae } from '../../../src/models/painter/vae';
import type { Manifest } from '../../../src/packs/manifest';
import type { PackSource } from '../../../src/packs/source';
import ref from '../../fixtures/mindomni-replica/vae_reference.json';
import { maxAbsDiff } from './painter_fixtures';

const FILES = import.meta.glob('../../fixtures/mindomni-replica/vae/*', {
  query: '?url',
  import: 'default',
  eager: true,
}) as Record<string, string>;

// The mirror computes in f32 on the same F16-exact weights; measured on SwiftShader: max |Δ| 2.9e-6 decoder,
// 1.0e-6 encoder mean, f32 and f16 alike (outputs up to 2.3).
const BOUND = 1e-4;

let device: GPUDevice;
const files = new Map<string, Uint8Array>();

beforeAll(async () => {
  device = await acquireDevice();
  for (const [k, url] of Object.entries(FILES)) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`fetching ${k}: HTTP ${res.status}`);
    files.set(`vae/${k.split('/').pop()}`, new Uint8Array(await res.arrayBuffer()));
  }
});

afterAll(() => {
  expect(liveBufferCount(device), liveBufferLabels(device).join(', ')).toBe(0);
});

async function load(weights: 'f32' | 'f16'): Promise<Vae> {
  const { sink, out } = memorySink();
  const src = memoryReader(files);
  const r = await convertVae(src, sink, { weights });
  const manifest = { vae: r.config, paths: { vae_decoder: 'vae_decoder.onnx', vae_encoder: 'vae_encoder.onnx' } };
  const source = {
    id: 'vae-replica',
    manifest: async () => manifest as unknown as Manifest,
    file: async (p: string) => out.get(p)!,
  } satisfies PackSource;
  // Forced onto WebGPU: on this fallback adapter vaeBackend would pick WASM, which the unit test already covers.
  return Vae.load(source, { backend: 'webgpu', device }, 'webgpu');
}

async function decodeAndEncode(vae: Vae): Promise<{ decoded: Float32Array; mean: Float32Array }> {
  const [, , h, w] = ref.latent_shape as number[];
  const z = device.createBuffer({
    size: ref.latent.length * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  try {
    device.queue.writeBuffer(z, 0, Float32Array.from(ref.latent));
    const decoded = await vae.decodeGpu(z, h!, w!);
    const [, , H, W] = ref.image_shape as number[];
    const t = await vae.encode(Float32Array.from(ref.image), H!, W!);
    try {
      expect(t.dims).toEqual(ref.mean_shape);
      return { decoded, mean: new Float32Array((await t.getData()) as Float32Array) };
    } finally {
      t.dispose();
    }
  } finally {
    z.destroy();
  }
}

describe('converted VAE → the app’s Vae class on WebGPU', () => {
  it.each(['f32', 'f16'] as const)('%s: decoder and encoder mean match the mirror; no buffer left', async (weights) => {
    const vae = await load(weights);
    try {
      const first = await decodeAndEncode(vae);
      const dd = maxAbsDiff(first.decoded, ref.decoded);
      const de = maxAbsDiff(first.mean, ref.mean);
      console.log(`${weights} WebGPU: max |Δ| decoder ${dd.toExponential(2)}, encoder mean ${de.toExponential(2)}`);
      expect(first.decoded.length).toBe(ref.decoded.length);
      expect(dd).toBeLessThan(BOUND);
      expect(de).toBeLessThan(BOUND);
      await device.queue.onSubmittedWorkDone();
      const before = liveBufferCount(device);
      const again = await decodeAndEncode(vae);
      await device.queue.onSubmittedWorkDone();
      expect(liveBufferCount(device), liveBufferLabels(device).join(', ')).toBe(before);
      expect(again.decoded).toEqual(first.decoded);
      // Tiles: none at this size on the device; below a limit they are chosen, and one tile is the whole decode.
      const [, , h, w] = ref.latent_shape as [number, number, number, number];
      expect(vae.tileFor(h, w)).toBeNull();
      const tile = vae.tileFor(h, w, 10_000)!; // the whole 8 × 8 latent makes 16 KiB (attention scores)
      expect(tile).toBeGreaterThanOrEqual(1);
      expect(tile).toBeLessThan(h);
      const x = Float32Array.from(ref.latent);
      expect(maxAbsDiff(await vae.decodeTiles(x, h, w, h), first.decoded)).toBeLessThan(1e-6);
      const tiled = await vae.decodeTiles(x, h, w, tile);
      expect(tiled.length).toBe(first.decoded.length);
      expect(tiled.every(Number.isFinite)).toBe(true);
    } finally {
      await vae.dispose();
    }
  });
});
