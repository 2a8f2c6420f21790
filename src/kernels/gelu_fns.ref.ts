/**
 * @file CPU twin of shaders/gelu_fns.wgsl: the scalar activation functions (the shader's formulas, evaluated in f64)
 * that the twins of matmul's fused activations and of swiglu share.
 */

/**
 * erfc(z) for z ≥ 0 by Numerical Recipes' Chebyshev fit, the formula the shader uses; its relative error against the
 * true erfc is below 1.2e-7 for every z ≥ 0 (checked against Python's math.erfc on [0, 20]: at most 1.05e-7).
 */
function erfcNonneg(z: number): number {
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(-z * z + poly);
}

/** Exact GELU, 0.5 · x · (1 + erf(x / √2)) (PyTorch F.gelu, HF "gelu"). */
export function geluErf(x: number): number {
  const c = erfcNonneg(Math.abs(x) * Math.SQRT1_2);
  return x >= 0 ? x * (1 - 0.5 * c) : 0.5 * x * c;
}

/** Tanh-approximated GELU, 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³))) (PyTorch approximate='tanh'). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

/** SiLU, x · sigmoid(x). */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}
