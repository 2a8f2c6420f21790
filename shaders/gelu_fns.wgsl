// Activation functions shared by gelu, swiglu and matmul's fused epilogue. This file has no entry point: the
// TypeScript wrappers put it in front of those shaders (WGSL has no includes), so each formula exists once.
//
// WGSL leaves infinities implementation-defined, so no exp() below is ever asked for a result beyond f32's range;
// the cut-offs change results by far less than an f32 ulp of the output scale.

// erfc(z) for z >= 0, Numerical Recipes' Chebyshev fit (erfcc): relative error below 1.2e-7 for every z >= 0, so
// the negative tail of gelu keeps its relative accuracy (no 1 - erf cancellation).
fn erfc_nonneg(z_in: f32) -> f32 {
  let z = min(z_in, 10.0); // erfc(10) ≈ 2e-45, already below the f32 normal range
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
    + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(-z * z + poly);
}

// Exact GELU, x · Φ(x) = 0.5 · x · (1 + erf(x / √2)): PyTorch's F.gelu default and Hugging Face's "gelu".
fn gelu_erf(x: f32) -> f32 {
  let c = erfc_nonneg(abs(x) * 0.70710678118654752);
  return select(0.5 * x * c, x * (1.0 - 0.5 * c), x >= 0.0);
}

// Tanh-approximated GELU (PyTorch approximate='tanh', HF "gelu_pytorch_tanh" / "gelu_new"):
// 0.5 · x · (1 + tanh(u)), u = √(2/π) · (x + 0.044715 x³), written as x · sigmoid(2u), which is the same function
// and needs no tanh (whose large-argument behaviour varies between backends). Below x = −10 the value is under
// 1e-36 in magnitude and is returned as 0; the clamp keeps exp() finite (|2u| ≤ 87.3 at |x| = 10).
fn gelu_tanh(x: f32) -> f32 {
  let xc = clamp(x, -10.0, 10.0);
  let u = 0.7978845608028654 * (xc + 0.044715 * xc * xc * xc);
  return select(x / (1.0 + exp(-2.0 * u)), 0.0, x < -10.0);
}

// SiLU (swish): x · sigmoid(x). Below x = −80 the value is under 1e-33 in magnitude and is returned as 0, so exp()
// never overflows.
fn silu(x: f32) -> f32 {
  return select(x / (1.0 + exp(-max(x, -80.0))), 0.0, x < -80.0);
}
