/**
 * @file The painter's glue ops, for what no shared kernel covers: splitting fused qkv rows into the attention
 * kernel's q/k/v layouts (also the reasoner engine's prefill split), assembling the step sequence [time token]
 * [patches + 2D positions] for both CFG branches, the VAE decoder input z / scale + shift, and the Edit start
 * t0·x1 + (1 − t0)·noise. Everything else the painter runs is a src/kernels/ kernel.
 *
 * All ops are f32, one invocation per output element, sizes in a uniform, pipelines cached by name only.
 */
import type { GpuBatch } from '../../gpu/batch';
import { flatGroups } from '../../kernels/dispatch';

const FLAT = 256;

function flat(batch: GpuBatch, key: string, code: string, buffers: GPUBuffer[], n: number, u: (stride: number) => ArrayBuffer): void {
  const { groups, stride } = flatGroups(n, FLAT);
  batch.dispatch(batch.pipeline(`painter_${key}`, code), [...buffers, batch.uniform(u(stride))], groups);
}

function words(...xs: number[]): ArrayBuffer {
  return new Uint32Array(xs).buffer;
}

function mixed(parts: ({ u: number } | { f: number })[]): ArrayBuffer {
  const buf = new ArrayBuffer(parts.length * 4);
  const dv = new DataView(buf);
  parts.forEach((p, i) => ('u' in p ? dv.setUint32(i * 4, p.u, true) : dv.setFloat32(i * 4, p.f, true)));
  return buf;
}

const IDX = `fn flat_index(gid: vec3u, stride: u32) -> u32 { return gid.x + gid.y * stride; }`;

// ------------------------------------------------------------------------------------------------ attention glue
const SPLIT = /* wgsl */ `
struct P { H: u32, KV: u32, D: u32, total: u32, stride: u32 }
@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> q: array<f32>;
@group(0) @binding(2) var<storage, read_write> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${IDX}
@compute @workgroup_size(${FLAT})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let idx = flat_index(gid, p.stride);
  if (idx >= p.total) { return; }
  let W = (p.H + 2u * p.KV) * p.D;
  let row = idx / W;
  let col = idx % W;
  let head = col / p.D;
  let d = col % p.D;
  if (head < p.H) { q[row * p.H * p.D + col] = qkv[idx]; }
  else if (head < p.H + p.KV) { k[row * p.KV * p.D + (head - p.H) * p.D + d] = qkv[idx]; }
  else { v[row * p.KV * p.D + (head - p.H - p.KV) * p.D + d] = qkv[idx]; }
}`;

/**
 * Splits fused qkv rows [R, (H + 2KV)·D] (RoPE already applied in place by src/kernels/rope) into q [R, H, D],
 * k and v [R, KV, D], the attention kernel's layouts. Glue.
 */
export function splitQkv(batch: GpuBatch, a: { qkv: GPUBuffer; q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; rows: number; H: number; KV: number; D: number }): void {
  const total = a.rows * (a.H + 2 * a.KV) * a.D;
  flat(batch, 'split_qkv', SPLIT, [a.qkv, a.q, a.k, a.v], total, (stride) => words(a.H, a.KV, a.D, total, stride));
}

// ------------------------------------------------------------------------------------------------ latents
const ASSEMBLE = /* wgsl */ `
struct P { B: u32, N: u32, D: u32, temb_off: u32, total: u32, stride: u32 }
@group(0) @binding(0) var<storage, read> temb: array<f32>;
@group(0) @binding(1) var<storage, read> xe: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<f32>;
@group(0) @binding(3) var<storage, read_write> seq: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${IDX}
@compute @workgroup_size(${FLAT})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = flat_index(gid, p.stride);
  if (i >= p.total) { return; }
  let d = i % p.D;
  let r = (i / p.D) % (p.N + 1u);
  if (r == 0u) { seq[i] = temb[p.temb_off + d]; }
  else { seq[i] = xe[(r - 1u) * p.D + d] + pos[(r - 1u) * p.D + d]; }
}`;

/**
 * The step sequence [B, 1 + N, D]: row 0 of each branch = temb (row `tembRow` of `temb`), rows 1… = embedded
 * patches + 2D position embedding, the same for every branch (both CFG branches see one latent). Glue.
 */
export function assembleStep(
  batch: GpuBatch,
  a: { temb: GPUBuffer; tembRow: number; xEmb: GPUBuffer; pos: GPUBuffer; out: GPUBuffer; B: number; N: number; D: number },
): void {
  const total = a.B * (a.N + 1) * a.D;
  flat(batch, 'assemble', ASSEMBLE, [a.temb, a.xEmb, a.pos, a.out], total, (stride) => words(a.B, a.N, a.D, a.tembRow * a.D, total, stride));
}

const AFFINE = /* wgsl */ `
struct P { n: u32, stride: u32, mode: u32, _p: u32, a: f32, b: f32, c: f32, d: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${IDX}
@compute @workgroup_size(${FLAT})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = flat_index(gid, p.stride);
  if (i >= p.n) { return; }
  if (p.mode == 0u) { y[i] = x[i] / p.a + p.b; }
  else { y[i] = p.c * ((x[i] - p.b) * p.a) + p.d * y[i]; }
}`;

/** VAE decoder input: out = z / scale + shift (docs/formats.md "VAE"). Glue. */
export function vaeInput(batch: GpuBatch, a: { z: GPUBuffer; out: GPUBuffer; n: number; scale: number; shift: number }): void {
  flat(batch, 'affine', AFFINE, [a.z, a.out], a.n, (stride) =>
    mixed([{ u: a.n }, { u: stride }, { u: 0 }, { u: 0 }, { f: a.scale }, { f: a.shift }, { f: 0 }, { f: 0 }]),
  );
}

/**
 * Edit start, in place on `z` (which holds the seeded noise): z = t0 · x1 + (1 − t0) · z with
 * x1 = (mean − shift) · scale from the VAE encoder's `mean`. Glue.
 */
export function editStart(batch: GpuBatch, a: { mean: GPUBuffer; z: GPUBuffer; n: number; scale: number; shift: number; t0: number }): void {
  const omt = Math.fround(1 - Math.fround(a.t0));
  flat(batch, 'affine', AFFINE, [a.mean, a.z], a.n, (stride) =>
    mixed([{ u: a.n }, { u: stride }, { u: 1 }, { u: 0 }, { f: a.scale }, { f: a.shift }, { f: a.t0 }, { f: omt }]),
  );
}
