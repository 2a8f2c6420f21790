// The VAE converter at SDXL's real shapes (tests/helpers/vae_sdxl.ts: 83.65 M parameters, F32, data read as zeros):
// both ONNX files streamed through a sink that keeps nothing, measuring what the conversion holds at once. Seconds
// of hashing 335 MB, so here (`npm run test:real-shape`) rather than in `npm test`, which checks the same tensor
// list by planning alone (tests/unit/convert/vae.test.ts).
import { describe, expect, it } from 'vitest';
import type { ConvertSink } from '../../src/convert/checkpoint';
import { convertVae } from '../../src/convert/vae';
import { SDXL_VAE_PARAMS, sdxlZeroVae } from '../helpers/vae_sdxl';

describe('convertVae at SDXL’s shapes', () => {
  it.each(['f32', 'f16'] as const)('%s: streamed, it holds one tensor (and its converted copy) at most', async (w) => {
    const { reader, params, largest } = sdxlZeroVae();
    expect(params).toBe(SDXL_VAE_PARAMS);
    let maxWrite = 0;
    const sizes = new Map<string, number>();
    const sink: ConvertSink = {
      async create(path, bytes) {
        sizes.set(path, bytes);
        return { write: async (b) => void (maxWrite = Math.max(maxWrite, b.byteLength)), close: async () => {} };
      },
    };
    const r = await convertVae(reader, sink, { weights: w });
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const dec = sizes.get('vae_decoder.onnx')!;
    const enc = sizes.get('vae_encoder.onnx')!;
    console.log(
      `${w}: decoder ${mb(dec)} MB, encoder ${mb(enc)} MB; peak held ${mb(r.meter.peak)} MB (largest tensor ` +
        `${mb(largest)} MB); largest write ${mb(maxWrite)} MB`,
    );
    // f32: the tensor read is the bytes written; f16: plus its f16 copy (half its size)
    expect(r.meter.peak).toBeLessThanOrEqual(w === 'f32' ? largest : largest * 1.5);
    expect(r.meter.current).toBe(0);
    expect(maxWrite).toBeLessThanOrEqual(largest);
    // the weights' bytes plus a small graph: f32 everything ×4; f16 the matrices ×2 and the (few) vectors ×4
    const data = w === 'f32' ? params * 4 : params * 2;
    expect(dec + enc).toBeGreaterThan(data);
    expect(dec + enc).toBeLessThan(data * 1.01);
  });
});
