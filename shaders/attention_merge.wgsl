// attention, flash-decoding pass 2: combines the per-chunk partials of attention_decode.wgsl into `out`.
//
// One invocation per output vec4 (b, i, h, c): it reads the (max, sum) of each of the row's `splits` chunks and
// the chunks' accumulator vec4 c, rescales every chunk to the common max (softmax of the union = each chunk's
// weights times exp(chunk max − common max)) and divides by the combined sum. Per output vec4 that is 2 · splits
// loads, small next to the keys pass 1 reads, and no invocation waits for another.

struct Params {
  // Output vec4s (B · Sq · Hq · D4) and the flat-index stride of the second dispatch dimension.
  n: u32,
  stride: u32,
  splits: u32,
}

// [B, Sq, Hq, splits] × (D4 + 1) vec4: (max, sum, 0, 0), then the unnormalised accumulator.
@group(0) @binding(0) var<storage, read> part: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32 = 64u;
override HEAD_DIM: u32 = 64u;
override D4: u32 = HEAD_DIM / 4u;

const NEG: f32 = -3.0e38;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.x + gid.y * p.stride;
  if (e >= p.n) {
    return;
  }
  let row = e / D4;
  let c = e % D4;
  let rec0 = row * p.splits * (D4 + 1u);
  var gmax = NEG;
  for (var s = 0u; s < p.splits; s++) {
    gmax = max(gmax, part[rec0 + s * (D4 + 1u)].x);
  }
  var sum = 0.0;
  var acc = vec4f(0.0);
  for (var s = 0u; s < p.splits; s++) {
    let rec = rec0 + s * (D4 + 1u);
    let ml = part[rec];
    // A chunk past the row's last visible key has max NEG and sum 0: its factor is 0 (or 1 times zeros).
    let f = exp(ml.x - gmax);
    sum += ml.y * f;
    acc += part[rec + 1u + c] * f;
  }
  out[e] = acc * select(0.0, 1.0 / sum, sum > 0.0);
}
