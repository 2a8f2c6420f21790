/**
 * @file The numbers both the sample kernel and its CPU twin derive from the user's sampling settings, in one place
 * so the GPU and the reference cannot disagree about them. Plain TypeScript (no GPU).
 */
import { KernelArgError } from '../errors';

/**
 * The most candidates top-k, top-p and temperature sampling look at (the kernel's workgroup size; a power of two for
 * its bitonic sort).
 */
export const SAMPLE_KMAX = 256;

/** Philox counter word c3 of the sampling draw: keeps it apart from the noise stream of the same seed (c3 = 0). */
export const SAMPLE_STREAM = 1;

export interface SampleSettings {
  /** 0 (or a topK of 1) means greedy: the highest logit, the lowest id among equal ones. Default 0. */
  temperature?: number;
  /** Keep the K most likely tokens; 0 = no top-k (still at most SAMPLE_KMAX); clamped to SAMPLE_KMAX. Default 0. */
  topK?: number;
  /** Keep the smallest most-likely prefix holding at least this share of the probability, in (0, 1]. Default 1. */
  topP?: number;
  /** u32 seed of the draw. Default 0. */
  seed?: number;
  /** u32 decode step (the Philox counter): one draw per step. Default 0. */
  step?: number;
}

export interface SampleParams {
  greedy: boolean;
  /** Candidates kept by top-k, 1 … SAMPLE_KMAX. */
  k: number;
  /** log2(e) / temperature rounded to f32: y = (logit − max) · s is the log2 of the relative probability. */
  s: number;
  /** round(topP · 2²⁴): the top-p share in 24-bit fixed point. */
  topPQ: number;
  seed: number;
  step: number;
}

const isU32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/** Validates `settings` (throwing KernelArgError naming `kernel`) and derives the kernel's numbers. */
export function sampleParams(kernel: string, settings: SampleSettings): SampleParams {
  const temperature = settings.temperature ?? 0;
  const topK = settings.topK ?? 0;
  const topP = settings.topP ?? 1;
  const seed = settings.seed ?? 0;
  const step = settings.step ?? 0;
  if (!(Number.isFinite(temperature) && temperature >= 0))
    throw new KernelArgError(kernel, `temperature must be a finite number ≥ 0, got ${temperature}`);
  if (!(Number.isInteger(topK) && topK >= 0))
    throw new KernelArgError(kernel, `topK must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new KernelArgError(kernel, `topP must be in (0, 1], got ${topP}`);
  if (!isU32(seed)) throw new KernelArgError(kernel, `seed must be a u32, got ${seed}`);
  if (!isU32(step)) throw new KernelArgError(kernel, `step must be a u32, got ${step}`);
  const greedy = temperature === 0 || topK === 1;
  const s = greedy ? 0 : Math.fround(Math.LOG2E / temperature);
  if (!greedy && !(Number.isFinite(s) && s > 0))
    throw new KernelArgError(kernel, `temperature ${temperature} is out of range`);
  const k = topK === 0 ? SAMPLE_KMAX : Math.min(topK, SAMPLE_KMAX);
  return { greedy, k, s, topPQ: Math.round(topP * 2 ** 24), seed, step };
}
