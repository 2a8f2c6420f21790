// matmul, tiled (prefill and every M > a few rows). Each workgroup computes a TILE_M × TILE_N block of y; the K
// axis is walked in TILE_K steps, staging an x tile [TILE_M][TILE_K] and a decoded weight tile [TILE_K][TILE_N]
// in workgroup memory so every global element is read once per block instead of once per output. Weights are
// dequantised while staging (one u32 word per invocation, EPW elements out), so the inner loop is format-free.
// Each invocation accumulates TM × TN outputs in registers, spaced by the workgroup width/height so that
// neighbouring invocations read neighbouring workgroup-memory words (no bank conflicts) and write neighbouring
// outputs. Accumulation is always f32; tile_t is f32, or f16 in the shader-f16 variant (halves workgroup memory
// and its traffic; x and the weights are rounded to f16 when staged).
// The wrapper owns the tile sizes (override constants; TILE_M, TILE_N multiples of TM, TN; TILE_K of 8).

alias tile_t = f32;

override TILE_M: u32;
override TILE_N: u32;
override TILE_K: u32;
const TM = 4u;
const TN = 4u;

var<workgroup> xs: array<tile_t, TILE_M * TILE_K>;
// rows padded by one element: the staging stores walk down a column of ws, and an unpadded power-of-two row
// would send all of them to one memory bank
const WS_PAD = 1u;
var<workgroup> ws: array<tile_t, TILE_K * (TILE_N + WS_PAD)>;

@compute @workgroup_size(TILE_N / TN, TILE_M / TM)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let wg_x = TILE_N / TN;
  let wg_y = TILE_M / TM;
  let threads = wg_x * wg_y;
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  let row_words = p.K / EPW;
  let tile_words = TILE_K / EPW;

  var acc = array<f32, TM * TN>();
  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {
    for (var i = li; i < TILE_M * TILE_K; i += threads) {
      let m = m0 + i / TILE_K;
      let k = k0 + i % TILE_K;
      var v = 0.0;
      if (m < p.M && k < p.K) {
        v = x[m * p.K + k];
      }
      xs[i] = tile_t(v);
    }
    for (var i = li; i < TILE_N * tile_words; i += threads) {
      let r = i / tile_words;
      let c = i % tile_words;
      let n = n0 + r;
      let kw = k0 / EPW + c;
      var v = array<f32, 8>(); // explicit zeros (see matmul_gemv.wgsl)
      if (n < p.N && kw < row_words) {
        v = unpack_word(w[n * row_words + kw], n, kw);
      }
      for (var e = 0u; e < EPW; e++) {
        ws[(c * EPW + e) * (TILE_N + WS_PAD) + r] = tile_t(v[e]);
      }
    }
    workgroupBarrier();

    for (var k = 0u; k < TILE_K; k++) {
      var a: array<f32, TM>;
      var b: array<f32, TN>;
      for (var i = 0u; i < TM; i++) {
        a[i] = f32(xs[(lid.y + i * wg_y) * TILE_K + k]);
      }
      for (var j = 0u; j < TN; j++) {
        b[j] = f32(ws[k * (TILE_N + WS_PAD) + lid.x + j * wg_x]);
      }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
          acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    let m = m0 + lid.y + i * wg_y;
    for (var j = 0u; j < TN; j++) {
      let n = n0 + lid.x + j * wg_x;
      if (m < p.M && n < p.N) {
        y[y_index(m, n)] = epilogue(acc[i * TN + j], n);
      }
    }
  }
}
