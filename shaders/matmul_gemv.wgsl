// matmul, GEMV form for decode (M = 1 or a few rows), where the weights dominate the traffic and a 64-row tile
// would be mostly padding. Each workgroup owns COLS output columns; the 256 / COLS invocations of a column split
// its weight row word by word (consecutive invocations read consecutive words: coalesced), dequantise each word
// and multiply it against up to MR activation rows at once, so a weight word is loaded once per MR rows. The
// partial sums meet in a tree reduction in workgroup memory. Rows beyond MR are handled by further passes over
// the same weights (from cache). COLS is owned by the wrapper (override; a power of two dividing 256).

override COLS: u32;
const WG = 256u;
const MR = 4u;

var<workgroup> part: array<f32, WG * MR>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let per_col = WG / COLS;
  let lane = t % per_col;
  let n = wid.x * COLS + t / per_col;
  let row_words = p.K / EPW;

  for (var m0 = 0u; m0 < p.M; m0 += MR) {
    let rows = min(MR, p.M - m0);
    var acc = array<f32, MR>(); // explicit: a bare `var` in a loop is not re-zeroed on every backend
    if (n < p.N) {
      for (var kw = lane; kw < row_words; kw += per_col) {
        let v = unpack_word(w[n * row_words + kw], n, kw);
        for (var e = 0u; e < EPW; e++) {
          let k = kw * EPW + e;
          for (var r = 0u; r < rows; r++) {
            acc[r] = fma(v[e], x[(m0 + r) * p.K + k], acc[r]);
          }
        }
      }
    }
    for (var r = 0u; r < MR; r++) {
      part[r * WG + t] = acc[r];
    }
    workgroupBarrier();
    for (var s = per_col / 2u; s > 0u; s >>= 1u) {
      if (lane < s) {
        for (var r = 0u; r < MR; r++) {
          part[r * WG + t] += part[r * WG + t + s];
        }
      }
      workgroupBarrier();
    }
    if (lane == 0u && n < p.N) {
      for (var r = 0u; r < rows; r++) {
        y[y_index(m0 + r, n)] = epilogue(part[r * WG + t], n);
      }
    }
    workgroupBarrier();
  }
}
