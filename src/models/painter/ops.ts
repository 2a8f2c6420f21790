/**
 * @file The painter's private glue ops: small elementwise / row WGSL passes between the shared kernels (matmul,
 * attention, noise). INTERIM: rmsnorm, layernorm+modulate, rope, swiglu, add, patchify, denoise and preview are
 * kernels colleagues are writing in src/kernels/ (not landed when this was written); each function here keeps the
 * argument shape a kernel wrapper would have so that swapping one in is a one-line change in dit.ts. The others
 * (qkv split, sequence assembly, VAE affine, edit start) are glue no kernel covers.
 *
 * All ops are f32, one invocation per output element (or one 64-wide workgroup per row for the norms), sizes in a
 * uniform, pipelines cached by name only (no shape in the code).
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

// ------------------------------------------------------------------------------------------------ norms
const RMSNORM = /* wgsl */ `
struct P { rows: u32, dim: u32, eps: f32, _p: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) l: u32) {
  let base = g.x * p.dim;
  var s = 0.0;
  for (var i = l; i < p.dim; i += 64u) { let v = x[base + i]; s += v * v; }
  red[l] = s;
  workgroupBarrier();
  for (var k = 32u; k > 0u; k >>= 1u) { if (l < k) { red[l] += red[l + k]; } workgroupBarrier(); }
  let r = inverseSqrt(red[0] / f32(p.dim) + p.eps);
  for (var i = l; i < p.dim; i += 64u) { y[base + i] = x[base + i] * r * w[i]; }
}`;

/** y = x · rsqrt(mean(x²) + eps) · w per row of x [rows, dim]. INTERIM stand-in for src/kernels/rmsnorm. */
export function rmsnorm(batch: GpuBatch, a: { x: GPUBuffer; weight: GPUBuffer; out: GPUBuffer; rows: number; dim: number; eps: number }): void {
  const u = mixed([{ u: a.rows }, { u: a.dim }, { f: a.eps }, { u: 0 }]);
  batch.dispatch(batch.pipeline('painter_rmsnorm', RMSNORM), [a.x, a.weight, a.out, batch.uniform(u)], [a.rows]);
}

const LN_MOD = /* wgsl */ `
struct P { rows: u32, dim: u32, eps: f32, mod_off: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> red: array<f32, 64>;
fn reduce(l: u32, v: f32) -> f32 {
  red[l] = v;
  workgroupBarrier();
  for (var k = 32u; k > 0u; k >>= 1u) { if (l < k) { red[l] += red[l + k]; } workgroupBarrier(); }
  let r = red[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) l: u32) {
  let base = g.x * p.dim;
  var s = 0.0;
  for (var i = l; i < p.dim; i += 64u) { s += x[base + i]; }
  let mu = reduce(l, s) / f32(p.dim);
  var q = 0.0;
  for (var i = l; i < p.dim; i += 64u) { let c = x[base + i] - mu; q += c * c; }
  let r = inverseSqrt(reduce(l, q) / f32(p.dim) + p.eps);
  for (var i = l; i < p.dim; i += 64u) {
    let shift = m[p.mod_off + i];
    let scale = m[p.mod_off + p.dim + i];
    y[base + i] = ((x[base + i] - mu) * r) * (1.0 + scale) + shift;
  }
}`;

/**
 * y = LN(x) · (1 + scale) + shift per row (LayerNorm without affine); `mod` holds [shift (dim) | scale (dim)] from
 * element `modOffset`. INTERIM stand-in for src/kernels/layernorm + modulate.
 */
export function layerNormModulate(
  batch: GpuBatch,
  a: { x: GPUBuffer; mod: GPUBuffer; modOffset: number; out: GPUBuffer; rows: number; dim: number; eps: number },
): void {
  const u = mixed([{ u: a.rows }, { u: a.dim }, { f: a.eps }, { u: a.modOffset }]);
  batch.dispatch(batch.pipeline('painter_ln_modulate', LN_MOD), [a.x, a.mod, a.out, batch.uniform(u)], [a.rows]);
}

// ------------------------------------------------------------------------------------------------ attention glue
const SPLIT_ROPE = /* wgsl */ `
struct P { S: u32, H: u32, KV: u32, D: u32, total: u32, stride: u32, _a: u32, _b: u32, pos: vec4u }
@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read> rope: array<f32>;
@group(0) @binding(2) var<storage, read_write> q: array<f32>;
@group(0) @binding(3) var<storage, read_write> k: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
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
  if (head >= p.H + p.KV) {
    v[row * p.KV * p.D + (head - p.H - p.KV) * p.D + d] = qkv[idx];
    return;
  }
  let b = row / p.S;
  let s = row % p.S;
  let half = p.D / 2u;
  let j = d % half;
  let t = ((p.pos[b] + s) * half + j) * 2u;
  let c = rope[t];
  let sn = rope[t + 1u];
  let base = row * W + head * p.D;
  var o: f32;
  if (d < half) { o = qkv[base + d] * c - qkv[base + d + half] * sn; }
  else { o = qkv[base + d] * c + qkv[base + d - half] * sn; }
  if (head < p.H) { q[row * p.H * p.D + head * p.D + d] = o; }
  else { k[row * p.KV * p.D + (head - p.H) * p.D + d] = o; }
}`;

/**
 * Splits fused qkv rows [B·S, (H + 2KV)·D] into q [B, S, H, D], k and v [B, S, KV, D], applying half-split RoPE to
 * q and k at position posBase[b] + s from `rope` ([positions, D/2, (cos, sin)]). Glue + INTERIM rope.
 */
export function splitQkvRope(
  batch: GpuBatch,
  a: { qkv: GPUBuffer; rope: GPUBuffer; q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; batch: number; S: number; H: number; KV: number; D: number; posBase: readonly number[] },
): void {
  if (a.posBase.length !== a.batch || a.batch > 4) throw new Error('splitQkvRope: posBase must have one entry per batch (≤ 4)');
  const total = a.batch * a.S * (a.H + 2 * a.KV) * a.D;
  const pos = [0, 1, 2, 3].map((b) => a.posBase[b] ?? 0);
  flat(batch, 'split_rope', SPLIT_ROPE, [a.qkv, a.rope, a.q, a.k, a.v], total, (stride) =>
    words(a.S, a.H, a.KV, a.D, total, stride, 0, 0, ...pos),
  );
}

// ------------------------------------------------------------------------------------------------ elementwise
const ADD = /* wgsl */ `
struct P { n: u32, stride: u32 }
@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${IDX}
@compute @workgroup_size(${FLAT})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = flat_index(gid, p.stride);
  if (i < p.n) { a[i] = a[i] + b[i]; }
}`;

/** a += b over n elements (the residual add). INTERIM stand-in for src/kernels/add. */
export function addInPlace(batch: GpuBatch, a: { a: GPUBuffer; b: GPUBuffer; n: number }): void {
  flat(batch, 'add', ADD, [a.a, a.b], a.n, (stride) => words(a.n, stride));
}

const SWIGLU = /* wgsl */ `
struct P { rows: u32, inter: u32, total: u32, stride: u32 }
@group(0) @binding(0) var<storage, read> gu: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${IDX}
@compute @workgroup_size(${FLAT})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = flat_index(gid, p.stride);
  if (i >= p.total) { return; }
  let r = i / p.inter;
  let c = i % p.inter;
  let g = gu[r * 2u * p.inter + c];
  let u = gu[r * 2u * p.inter + p.inter + c];
  y[i] = g * (1.0 / (1.0 + exp(-g))) * u;
}`;

/** y[r, i] = silu(gu[r, i]) · gu[r, I + i] (Phi-3 fused gate_up). INTERIM stand-in for src/kernels/swiglu. */
export function swiglu(batch: GpuBatch, a: { gateUp: GPUBuffer; out: GPUBuffer; rows: number; inter: number }): void {
  const total = a.rows * a.inter;
  flat(batch, 'swiglu', SWIGLU, [a.gateUp, a.out], total, (stride) => words(a.rows, a.inter, total, stride));
}

// ------------------------------------------------------------------------------------------------ latents
const PATCHIFY = /* wgsl */ `
struct P { C: u32, H: u32, W: u32, p: u32, total: u32, stride: u32 }
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> t: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${IDX}
@compute @workgroup_size(${FLAT})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = flat_index(gid, p.stride);
  if (i >= p.total) { return; }
  let c = i / (p.H * p.W);
  let y = (i / p.W) % p.H;
  let x = i % p.W;
  let token = (y / p.p) * (p.W / p.p) + x / p.p;
  let feat = c * p.p * p.p + (y % p.p) * p.p + x % p.p;
  t[token * p.C * p.p * p.p + feat] = z[i];
}`;

/** latents [C, H, W] → patches [(H/p)(W/p), C·p²] (formats.md order). INTERIM stand-in for src/kernels/patchify. */
export function patchify(batch: GpuBatch, a: { z: GPUBuffer; out: GPUBuffer; C: number; H: number; W: number; p: number }): void {
  const total = a.C * a.H * a.W;
  flat(batch, 'patchify', PATCHIFY, [a.z, a.out], total, (stride) => words(a.C, a.H, a.W, a.p, total, stride));
}

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

const DENOISE = /* wgsl */ `
struct P { C: u32, H: u32, W: u32, p: u32, N: u32, B: u32, total: u32, stride: u32, g: f32, dt: f32 }
@group(0) @binding(0) var<storage, read_write> z: array<f32>;
@group(0) @binding(1) var<storage, read> out: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${IDX}
@compute @workgroup_size(${FLAT})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = flat_index(gid, p.stride);
  if (i >= p.total) { return; }
  let c = i / (p.H * p.W);
  let y = (i / p.W) % p.H;
  let x = i % p.W;
  let F = p.C * p.p * p.p;
  let token = (y / p.p) * (p.W / p.p) + x / p.p;
  let feat = c * p.p * p.p + (y % p.p) * p.p + x % p.p;
  let vc = out[(1u + token) * F + feat];
  var v = vc;
  if (p.B > 1u) {
    let vu = out[((p.N + 1u) + 1u + token) * F + feat];
    v = vu + p.g * (vc - vu);
  }
  z[i] = z[i] + p.dt * v;
}`;

/**
 * Unpatchify + CFG + Euler, in place: z += dt · (v_u + g · (v_c − v_u)), reading the final layer's token rows
 * [B, 1 + N, C·p²] (branch 0 conditional, branch 1 unconditional; row 0 of a branch is the time token and is
 * skipped). With B = 1: z += dt · v_c. INTERIM stand-in for src/kernels/denoise (+ unpatchify).
 */
export function denoise(
  batch: GpuBatch,
  a: { z: GPUBuffer; tokens: GPUBuffer; C: number; H: number; W: number; p: number; B: number; guidance: number; dt: number },
): void {
  const total = a.C * a.H * a.W;
  const N = (a.H / a.p) * (a.W / a.p);
  flat(batch, 'denoise', DENOISE, [a.z, a.tokens], total, (stride) =>
    mixed([{ u: a.C }, { u: a.H }, { u: a.W }, { u: a.p }, { u: N }, { u: a.B }, { u: total }, { u: stride }, { f: a.guidance }, { f: a.dt }]),
  );
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

const PREVIEW = /* wgsl */ `
struct P { C: u32, HW: u32, stride: u32, _p: u32, scale: f32, shift: f32 }
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> rgba: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
${IDX}
@compute @workgroup_size(${FLAT})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = flat_index(gid, p.stride);
  if (i >= p.HW) { return; }
  var px = vec4f(0.0, 0.0, 0.0, 1.0);
  for (var c = 0u; c < 3u; c++) {
    let v = z[min(c, p.C - 1u) * p.HW + i] / p.scale + p.shift;
    px[c] = clamp(v * 0.5 + 0.5, 0.0, 1.0);
  }
  rgba[i] = pack4x8unorm(px);
}`;

/**
 * A latent-space preview: RGBA8 [h, w] from the first three latent channels of z / scale + shift mapped from
 * [−1, 1] (a cheap look at the image forming, not the VAE). INTERIM stand-in for src/kernels/preview.
 */
export function preview(batch: GpuBatch, a: { z: GPUBuffer; out: GPUBuffer; C: number; h: number; w: number; scale: number; shift: number }): void {
  const HW = a.h * a.w;
  flat(batch, 'preview', PREVIEW, [a.z, a.out], HW, (stride) =>
    mixed([{ u: a.C }, { u: HW }, { u: stride }, { u: 0 }, { f: a.scale }, { f: a.shift }]),
  );
}
