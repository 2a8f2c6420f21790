/**
 * @file Sampling settings of a generation (greedy, temperature, top-k, top-p, seed) and their validation. The
 * choice itself is the `sample` kernel's (src/kernels/sample.ts) on WebGPU and its CPU twin's
 * (src/kernels/sample.ref.ts) on WASM, which pick the same id for the same settings: step `i` of a generation
 * draws with Philox counter i and key `seed`, so a seed reproduces a run on every machine.
 */
import { badInput } from '../../errors';
import { SAMPLE_KMAX, type SampleSettings } from '../../kernels/sample_params';

export interface SamplingOptions {
  /** Force greedy decoding (argmax, the lowest id among equal logits). Default: greedy when temperature is 0. */
  greedy?: boolean;
  /** Logits are divided by this before softmax: 0 = greedy (the default), otherwise from 0.01 to 100. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off; sampling never looks past the 256 most likely tokens). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p, in (0, 1] (1 = off). */
  topP?: number;
  /** u32 seed: the same seed and settings give the same tokens. Default 0. */
  seed?: number;
}

/** Settings with every default filled in. */
export interface ResolvedSampling {
  greedy: boolean;
  /** 0 when greedy. */
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
}

/** Fills defaults and checks ranges; throws RgError('BAD_INPUT', field) for an out-of-range value. */
export function resolveSampling(o: SamplingOptions): ResolvedSampling {
  const t = o.temperature ?? 0;
  if (!Number.isFinite(t) || (t !== 0 && (t < 0.01 || t > 100))) {
    throw badInput('temperature', `temperature must be 0 (greedy) or a number from 0.01 to 100, got ${o.temperature}`);
  }
  const topK = o.topK ?? 0;
  if (!Number.isInteger(topK) || topK < 0)
    throw badInput('topK', `top-k must be a whole number ≥ 0 (0 = off), got ${o.topK}`);
  const topP = o.topP ?? 1;
  if (!Number.isFinite(topP) || topP <= 0 || topP > 1)
    throw badInput('topP', `top-p must be greater than 0 and at most 1, got ${o.topP}`);
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw badInput('seed', `seed must be a whole number from 0 to 4294967295, got ${o.seed}`);
  const greedy = o.greedy === true || t === 0 || topK === 1;
  if (o.greedy === false && greedy)
    throw badInput('temperature', 'sampling needs a temperature above 0 and a top-k other than 1');
  return { greedy, temperature: greedy ? 0 : t, topK: Math.min(topK, SAMPLE_KMAX), topP, seed };
}

/** The kernel's settings for generation step `step`. */
export function kernelSettings(s: ResolvedSampling, step: number): SampleSettings {
  return { temperature: s.greedy ? 0 : s.temperature, topK: s.topK, topP: s.topP, seed: s.seed, step };
}
