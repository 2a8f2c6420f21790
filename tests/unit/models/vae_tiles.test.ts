// Tiled VAE decoding (src/models/painter/vae_tiles.ts): where the tiles go, the largest tensor a decode makes and
// the tile that keeps it under a limit (SDXL's figures), the blend (a decoder that is local gives the whole image
// back from any tiling; a tile-dependent one is ramped across each overlap), and the converted replica decoder run
// by onnxruntime-web WASM in tiles.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import type { ConvertSink } from '../../../src/convert/checkpoint';
import { convertVae } from '../../../src/convert/vae';
import { decodeTiled, tileStarts, vaeDecodeBytes, vaeTileSide } from '../../../src/models/painter/vae_tiles';
import type { VaeConfig } from '../../../src/packs/manifest';
import { randomF32 } from '../../helpers/rng';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const SDXL: VaeConfig = {
  in_channels: 3,
  latent_channels: 4,
  downscale: 8,
  block_channels: [128, 256, 512, 512],
  scaling_factor: 0.13025,
  shift_factor: 0,
};
const MiB = 1024 * 1024;

/** A decoder that is local: pixel (c, Y, X) depends on latent (·, Y / d, X / d) alone, not on the tile. */
function localDecoder(C: number, d: number) {
  let calls = 0;
  const decode = async (z: Float32Array, h: number, w: number) => {
    calls++;
    const out = new Float32Array(3 * h * d * w * d);
    for (let c = 0; c < 3; c++)
      for (let Y = 0; Y < h * d; Y++)
        for (let X = 0; X < w * d; X++) {
          const at = (k: number) => z[(k * h + Math.floor(Y / d)) * w + Math.floor(X / d)]!;
          out[(c * h * d + Y) * w * d + X] = at(c % C) * (c + 1) - at((c + 1) % C) + 0.25 * ((Y + X) % d);
        }
    return out;
  };
  return { decode, calls: () => calls };
}

describe('tiled VAE decoding', () => {
  it('tile starts cover the axis, each tile whole, neighbours overlapping by at least the overlap', () => {
    expect(tileStarts(8, 8, 2)).toEqual([0]);
    expect(tileStarts(5, 8, 2)).toEqual([0]);
    expect(tileStarts(16, 8, 2)).toEqual([0, 6, 8]);
    expect(tileStarts(14, 8, 2)).toEqual([0, 6]);
    expect(tileStarts(128, 32, 8)).toEqual([0, 24, 48, 72, 96]);
    for (const [n, t, o] of [
      [37, 8, 2],
      [100, 16, 4],
      [9, 2, 1],
    ] as const) {
      const s = tileStarts(n, t, o);
      expect(s[0]).toBe(0);
      expect(s.at(-1)! + t).toBe(n);
      for (let i = 1; i < s.length; i++) expect(s[i - 1]! + t - s[i]!).toBeGreaterThanOrEqual(o);
    }
  });

  it('SDXL at 1024²: 1 GiB for the attention scores and the last upsampled activation; tiles that fit', () => {
    expect(vaeDecodeBytes(SDXL, 128, 128)).toBe(1024 * MiB);
    expect(vaeDecodeBytes(SDXL, 64, 64)).toBe(256 * MiB); // 256 channels at 512² after the last upsample
    expect(vaeTileSide(SDXL, 128, 128, 2048 * MiB)).toBe(128);
    expect(vaeTileSide(SDXL, 128, 128, 128 * MiB)).toBe(32);
    expect(vaeTileSide(SDXL, 128, 96, 256 * MiB)).toBe(64);
    expect(vaeDecodeBytes(SDXL, 32, 32)).toBeLessThanOrEqual(128 * MiB);
  });

  it('a local decoder gives the whole image back from any tiling', async () => {
    const C = 4;
    const d = 4;
    for (const [h, w, tile, overlap] of [
      [8, 8, 8, 2],
      [12, 10, 4, 1],
      [9, 16, 5, 2],
      [6, 13, 8, 2],
    ] as const) {
      const z = randomF32(C * h * w, h * 100 + w);
      const whole = await localDecoder(C, d).decode(z, h, w);
      const dec = localDecoder(C, d);
      const tiled = await decodeTiled(dec.decode, z, C, h, w, d, tile, overlap);
      expect(dec.calls()).toBe(tileStarts(h, tile, overlap).length * tileStarts(w, tile, overlap).length);
      expect(tiled.length).toBe(whole.length);
      let m = 0;
      for (let i = 0; i < whole.length; i++) m = Math.max(m, Math.abs(tiled[i]! - whole[i]!));
      expect(m, `${h}×${w} tile ${tile}`).toBeLessThan(1e-6);
    }
  });

  it('tiles that disagree are ramped across each overlap, and alone where one tile covers', async () => {
    // Two tiles along x (latent 1 × 14, tile 8, overlap 2: starts 0 and 6); tile k decodes to the constant k.
    let k = 0;
    const d = 4;
    const constant = async (_z: Float32Array, h: number, w: number) => new Float32Array(3 * h * d * w * d).fill(k++);
    const out = await decodeTiled(constant, new Float32Array(14), 1, 1, 14, d, 8, 2);
    const row = Array.from(out.subarray(0, 14 * d));
    for (let X = 0; X < 6 * d; X++) expect(row[X]).toBe(0);
    for (let X = 8 * d; X < 14 * d; X++) expect(row[X]).toBe(1);
    const blend = row.slice(6 * d, 8 * d);
    for (let i = 1; i < blend.length; i++) expect(blend[i]!).toBeGreaterThan(blend[i - 1]!);
    expect(blend[0]!).toBeGreaterThan(0);
    expect(blend.at(-1)!).toBeLessThan(1);
    expect(blend[0]! + blend.at(-1)!).toBeCloseTo(1, 6); // symmetric ramps
  });

  it('the converted replica decoder (ORT WASM): one tile is the whole decode; tiles give the full image', async () => {
    const dir = fileURLToPath(new URL('../../fixtures/mindomni-replica/vae/', import.meta.url));
    const files = new Map(readdirSync(dir).map((n) => [`vae/${n}`, new Uint8Array(readFileSync(dir + n))]));
    const out = new Map<string, Uint8Array>();
    const sink: ConvertSink = {
      async create(path) {
        const parts: Uint8Array[] = [];
        return {
          write: async (b) => void parts.push(b),
          close: async () => void out.set(path, new Uint8Array(Buffer.concat(parts))),
        };
      },
    };
    const src = {
      size: async (p: string) => files.get(p)?.byteLength ?? null,
      read: async (p: string, b: number, e: number) => files.get(p)!.slice(b, e),
    };
    const { config } = await convertVae(src, sink, { weights: 'f32' });
    const session = await ort.InferenceSession.create(out.get('vae_decoder.onnx')!, { executionProviders: ['wasm'] });
    try {
      const C = config.latent_channels;
      const decode = async (z: Float32Array, h: number, w: number) =>
        (await session.run({ latent_sample: new ort.Tensor('float32', z, [1, C, h, w]) })).sample!.data as Float32Array;
      const z = randomF32(C * 12 * 12, 7);
      const whole = await decode(z, 12, 12);
      expect(await decodeTiled(decode, z, C, 12, 12, config.downscale, 12, 3)).toEqual(whole);
      const tiled = await decodeTiled(decode, z, C, 12, 12, config.downscale, 6, 2);
      expect(tiled.length).toBe(whole.length);
      let m = 0;
      let top = 0;
      for (let i = 0; i < whole.length; i++) {
        m = Math.max(m, Math.abs(tiled[i]! - whole[i]!));
        top = Math.max(top, Math.abs(whole[i]!));
      }
      // Group norms and attention see one tile: not the whole image's numbers (measured below), but all finite.
      console.log(`replica 12×12 latent in 6×6 tiles: max |Δ| vs whole ${m.toExponential(2)} of max ${top.toFixed(2)}`);
      expect(tiled.every(Number.isFinite)).toBe(true);
      expect(m).toBeGreaterThan(0);
    } finally {
      await session.release();
    }
  });
});
