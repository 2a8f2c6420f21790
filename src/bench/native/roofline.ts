/**
 * @file The hardware limits a case is measured against: memory bandwidth and arithmetic peaks per GPU, each with the
 * source of the number. An adapter not in the table (SwiftShader, any unlisted GPU) has no roofline and its shares
 * are printed as "n/a": on software WebGPU only ratios between cases mean anything.
 */

export interface Roofline {
  name: string;
  /** Memory bandwidth, bytes per second. */
  bandwidth: number;
  /** Dense FP16/BF16 tensor-core peak, FLOP/s (no sparsity). WGSL cannot reach tensor cores; the goal uses it. */
  fp16Tensor: number;
  /** FP32 (CUDA cores, non-tensor) peak, FLOP/s: the roof of f32 WGSL arithmetic. */
  fp32: number;
  source: string;
  /** Lower-case substrings of the adapter's device/description that select this entry. */
  match: string[];
}

export const ROOFLINES: readonly Roofline[] = [
  {
    name: 'NVIDIA H200 (SXM)',
    bandwidth: 4.8e12,
    fp16Tensor: 989e12,
    fp32: 67e12,
    source:
      'NVIDIA H200 Tensor Core GPU datasheet (H200 SXM): HBM3e 4.8 TB/s; FP16/BF16 Tensor 1,979 TFLOPS with ' +
      'sparsity, i.e. ~989 dense; FP32 67 TFLOPS',
    match: ['h200'],
  },
  {
    name: 'NVIDIA H100 (SXM)',
    bandwidth: 3.35e12,
    fp16Tensor: 989e12,
    fp32: 67e12,
    source:
      'NVIDIA H100 Tensor Core GPU datasheet (H100 SXM): HBM3 3.35 TB/s; FP16/BF16 Tensor 1,979 TFLOPS with ' +
      'sparsity, i.e. ~989 dense; FP32 67 TFLOPS',
    match: ['h100'],
  },
];

type AdapterText = { device: string; description: string; vendor: string; architecture?: string };

/** Whether the adapter is a software rasteriser (SwiftShader, lavapipe/llvmpipe). */
export function isSoftware(adapter: AdapterText): boolean {
  const text = `${adapter.vendor} ${adapter.architecture ?? ''} ${adapter.device} ${adapter.description}`.toLowerCase();
  return text.includes('swiftshader') || text.includes('llvmpipe') || text.includes('lavapipe');
}

/** The roofline entry of an adapter, or null (software adapters, unlisted GPUs). */
export function rooflineFor(adapter: AdapterText): Roofline | null {
  const text = `${adapter.device} ${adapter.description}`.toLowerCase();
  if (isSoftware(adapter)) return null;
  return ROOFLINES.find((r) => r.match.some((m) => text.includes(m))) ?? null;
}

/** "12.3 %" of `value / peak`, or "n/a" without a peak. */
export function share(value: number, peak: number | null | undefined): string {
  return peak ? `${((100 * value) / peak).toFixed(1)} %` : 'n/a';
}
