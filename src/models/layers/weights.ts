/**
 * @file The weights of one pre-norm decoder layer on the GPU, shared by the reasoner (Qwen2) and the painter and
 * connector (Phi-3): both are stored fused, `qkv` as [q | k | v] rows and `gateUp` as [gate | up] rows (the layout
 * the swiglu kernel reads). The painter's files hold them fused already; the reasoner fuses Qwen2's separate
 * projections at upload (docs/formats.md).
 */
import type { LinearWeight } from '../../kernels/matmul';

/** A linear layer on the GPU: the weight in its stored form and an optional F32 bias. */
export interface GpuLinear {
  w: LinearWeight;
  bias?: GPUBuffer;
}

/**
 * One decoder layer: `qkv` has (heads + 2 · kv heads) · head_dim outputs (with the fused bias for Qwen2's
 * `attention_bias`), `gateUp` 2 · intermediate outputs.
 */
export interface DecoderLayerWeights {
  inputNorm: GPUBuffer;
  postNorm: GPUBuffer;
  qkv: GpuLinear;
  o: GpuLinear;
  gateUp: GpuLinear;
  down: GpuLinear;
}

/** The config fields a decoder layer reads (Hugging Face names; ReasonerConfig, PainterConfig, ConnectorConfig). */
export interface DecoderLayerConfig {
  hidden_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  intermediate_size: number;
  rms_norm_eps: number;
  rope_theta: number;
}
