// matmul, dot form for decode with a short K (M = 1 or a few rows, K up to a few hundred): one invocation per output
// column walks its weight row word by word and multiplies each dequantised word against up to MR activation rows,
// with no workgroup memory and no barriers. With K this short, GEMV's split of a row across 32 lanes leaves each
// lane one or two words and spends its time in the tree reduction (on software WebGPU, where a barrier costs as
// much as the arithmetic of a whole row, the reasoner's lm_head ran ~500x slower that way). On a fallback (CPU)
// adapter it serves decode at any K: there GEMV's barriers cost more than its split rows save at every K measured
// (docs/benchmarks.md). Rows beyond MR are handled by further passes over the same weights.

const WG = 64u;
const MR = 4u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  if (n >= p.N) {
    return;
  }
  let row_words = p.K / EPW;
  for (var m0 = 0u; m0 < p.M; m0 += MR) {
    let rows = min(MR, p.M - m0);
    var acc = array<f32, MR>(); // explicit: a bare `var` in a loop is not re-zeroed on every backend
    for (var kw = 0u; kw < row_words; kw++) {
      let v = unpack_word(w[n * row_words + kw], n, kw);
      for (var e = 0u; e < EPW; e++) {
        let k = kw * EPW + e;
        for (var r = 0u; r < rows; r++) {
          acc[r] = fma(v[e], x[(m0 + r) * p.K + k], acc[r]);
        }
      }
    }
    for (var r = 0u; r < rows; r++) {
      y[y_index(m0 + r, n)] = epilogue(acc[r], n);
    }
  }
}
