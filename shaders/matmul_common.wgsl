// Shared part of the tiled, GEMV and dot matmul kernels: the input bindings (weights as u32 words) and the weight
// decoding; the output bindings and the epilogue are matmul_out.wgsl, shared with the generated register kernel
// (src/kernels/matmul_regs.ts). y[M, N] = act(x[M, K] · Wᵀ + bias), W in PyTorch layout [N, K] (docs/formats.md).
//
// Every weight format is read as u32 words so one set of bindings serves all five, chosen by the FORMAT override:
//   0 f32   one element per word (bitcast)
//   1 f16   two per word, element 2m in the low half (unpack2x16float: needs no shader-f16)
//   2 int8  four per word, element 4m in bits 0..7, w = q · scale[n] (per output channel)
//   3 int4  eight per word, element 8m in bits 0..3, stored as q + 8, w = q · scale[n, k / 32] (block 32)
//   4 bf16  two per word, element 2m in the low half; a bf16 is the top half of an f32, so a shift is the whole
//           conversion (needs no shader-f16 either)
// A word never straddles a row (K is a multiple of the elements per word) nor an int4 block (8 divides 32).
// The scale and bias bindings are bound to a dummy buffer by the wrapper when the format or p.has_bias does not
// read them.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> wscale: array<f32>;

override FORMAT: u32;
// elements per u32 word: f32 1, f16 2, int8 4, int4 8, bf16 2
override EPW: u32 = select(1u << FORMAT, 2u, FORMAT == 4u);

// The EPW weights held by word `kw` of row `n` of W, dequantised to f32 (entries past EPW stay 0).
fn unpack_word(word: u32, n: u32, kw: u32) -> array<f32, 8> {
  var v = array<f32, 8>();
  switch FORMAT {
    case 0u: {
      v[0] = bitcast<f32>(word);
    }
    case 1u: {
      let h = unpack2x16float(word);
      v[0] = h.x;
      v[1] = h.y;
    }
    case 2u: {
      let s = wscale[n];
      for (var e = 0u; e < 4u; e++) {
        v[e] = f32(extractBits(bitcast<i32>(word), e * 8u, 8u)) * s;
      }
    }
    case 4u: {
      v[0] = bitcast<f32>(word << 16u);
      v[1] = bitcast<f32>(word & 0xffff0000u);
    }
    default: {
      let s = wscale[n * (p.K / 32u) + kw / 4u];
      for (var e = 0u; e < 8u; e++) {
        v[e] = f32(i32(extractBits(word, e * 4u, 4u)) - 8) * s;
      }
    }
  }
  return v;
}

