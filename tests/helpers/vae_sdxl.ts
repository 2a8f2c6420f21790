/**
 * @file SDXL's VAE as a checkpoint whose tensor data reads as zeros: diffusers' AutoencoderKL names and shapes at
 * SDXL's config, written out here from the architecture (independently of src/convert/vae.ts's graphs), for the
 * converter's real-shape checks. Nothing of SDXL's size is ever on disk: only the header is real.
 */
import type { CheckpointReader } from '../../src/convert/checkpoint';
import { VAE_CONFIG, VAE_WEIGHTS } from '../../src/convert/vae';

/** SDXL VAE's parameter count (83.65 M). */
export const SDXL_VAE_PARAMS = 83_653_863;

export const SDXL = {
  _class_name: 'AutoencoderKL',
  act_fn: 'silu',
  block_out_channels: [128, 256, 512, 512],
  down_block_types: Array(4).fill('DownEncoderBlock2D'),
  up_block_types: Array(4).fill('UpDecoderBlock2D'),
  force_upcast: true,
  in_channels: 3,
  out_channels: 3,
  latent_channels: 4,
  layers_per_block: 2,
  norm_num_groups: 32,
  sample_size: 1024,
  scaling_factor: 0.13025,
};

/** SDXL's VAE state dict: name → shape. */
export function sdxlTensors(): Map<string, number[]> {
  const t = new Map<string, number[]>();
  const conv = (p: string, o: number, i: number, k: number) => {
    t.set(`${p}.weight`, [o, i, k, k]);
    t.set(`${p}.bias`, [o]);
  };
  const norm = (p: string, c: number) => {
    t.set(`${p}.weight`, [c]);
    t.set(`${p}.bias`, [c]);
  };
  const resnet = (p: string, i: number, o: number) => {
    norm(`${p}.norm1`, i);
    conv(`${p}.conv1`, o, i, 3);
    norm(`${p}.norm2`, o);
    conv(`${p}.conv2`, o, o, 3);
    if (i !== o) conv(`${p}.conv_shortcut`, o, i, 1);
  };
  const mid = (p: string, c: number) => {
    resnet(`${p}.resnets.0`, c, c);
    norm(`${p}.attentions.0.group_norm`, c);
    for (const n of ['to_q', 'to_k', 'to_v', 'to_out.0']) {
      t.set(`${p}.attentions.0.${n}.weight`, [c, c]);
      t.set(`${p}.attentions.0.${n}.bias`, [c]);
    }
    resnet(`${p}.resnets.1`, c, c);
  };
  const B = [128, 256, 512, 512];
  conv('encoder.conv_in', 128, 3, 3);
  B.forEach((c, i) => {
    resnet(`encoder.down_blocks.${i}.resnets.0`, B[Math.max(0, i - 1)]!, c);
    resnet(`encoder.down_blocks.${i}.resnets.1`, c, c);
    if (i < 3) conv(`encoder.down_blocks.${i}.downsamplers.0.conv`, c, c, 3);
  });
  mid('encoder.mid_block', 512);
  norm('encoder.conv_norm_out', 512);
  conv('encoder.conv_out', 8, 512, 3);
  conv('quant_conv', 8, 8, 1);
  conv('post_quant_conv', 4, 4, 1);
  conv('decoder.conv_in', 512, 4, 3);
  mid('decoder.mid_block', 512);
  const R = [...B].reverse();
  R.forEach((c, i) => {
    for (let j = 0; j < 3; j++) resnet(`decoder.up_blocks.${i}.resnets.${j}`, j ? c : R[Math.max(0, i - 1)]!, c);
    if (i < 3) conv(`decoder.up_blocks.${i}.upsamplers.0.conv`, c, c, 3);
  });
  norm('decoder.conv_norm_out', 128);
  conv('decoder.conv_out', 3, 128, 3);
  return t;
}

/** A checkpoint of SDXL's shapes in F32 whose tensor data reads as zeros. */
export function sdxlZeroVae(): { reader: CheckpointReader; params: number; largest: number } {
  const header: Record<string, unknown> = {};
  let off = 0;
  let largest = 0;
  for (const [name, shape] of [...sdxlTensors()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const n = shape.reduce((a, d) => a * d, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + n] };
    off += n;
    largest = Math.max(largest, n);
  }
  let h = JSON.stringify(header);
  h += ' '.repeat((8 - (h.length % 8)) % 8);
  const head = new Uint8Array(8 + h.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(h.length), true);
  head.set(new TextEncoder().encode(h), 8);
  const config = new TextEncoder().encode(JSON.stringify(SDXL));
  const reader: CheckpointReader = {
    size: async (p) => (p === VAE_CONFIG ? config.byteLength : p === VAE_WEIGHTS ? head.byteLength + off : null),
    read: async (p, b, e) => {
      if (p === VAE_CONFIG) return config.slice(b, e);
      const out = new Uint8Array(e - b);
      if (b < head.byteLength) out.set(head.subarray(b, Math.min(e, head.byteLength)));
      return out;
    },
  };
  return { reader, params: off / 4, largest };
}
