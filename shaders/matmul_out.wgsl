// The output side of every matmul kernel: the size uniform, the bias and output bindings, the fused epilogue (bias and
// activation) and y's index. Included after gelu_fns.wgsl and before the kernel's own input bindings.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  // 0 none, 1 gelu (erf), 2 gelu (tanh approximation), 3 silu; a uniform, not an override, since the epilogue runs
  // once per output (not per multiply-add) and this keeps one pipeline per weight format
  act: u32,
  has_bias: u32,
  // y's row length and the first column this dispatch writes: N and 0, except for one row shard of a weight split
  // across buffers (docs/formats.md), which writes columns [n0, n0 + N) of rows ldy wide
  ldy: u32,
  n0: u32,
}

@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

// Bias and activation for output column n of this dispatch (column p.n0 + n of y and of the bias).
fn epilogue(acc: f32, n: u32) -> f32 {
  var v = acc;
  if (p.has_bias != 0u) {
    v += bias[p.n0 + n];
  }
  switch p.act {
    case 1u: {
      v = gelu_erf(v);
    }
    case 2u: {
      v = gelu_tanh(v);
    }
    case 3u: {
      v = silu(v);
    }
    default: {}
  }
  return v;
}

// The index in y of row m, column n of this dispatch.
fn y_index(m: u32, n: u32) -> u32 {
  return m * p.ldy + p.n0 + n;
}
