/**
 * @file Sampling settings of a generation (greedy, temperature, top-k, top-p, seed), their validation, and the two
 * ways a token is chosen: on the GPU from ORT's logits buffer (only the 4-byte id is read back), or on the CPU from
 * the logits ORT returned (WASM backend).
 */
import { RgError } from '../../errors';

export interface SamplingOptions {
  /** Argmax (first index of the largest logit). Default: true when `temperature` is 0 or absent. */
  greedy?: boolean;
  /** Logits are divided by this before softmax (> 0; 0 means greedy). Default 1 when sampling. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = off). */
  topP?: number;
  /** u32 seed: the same seed and settings give the same tokens. Default 0. */
  seed?: number;
}

/** Settings with every default filled in. */
export interface ResolvedSampling {
  greedy: boolean;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
}

function bad(field: string, message: string): RgError {
  return new RgError('BAD_INPUT', message, { field });
}

/** Fills defaults and checks ranges; throws RgError('BAD_INPUT', field) for an out-of-range value. */
export function resolveSampling(o: SamplingOptions, vocab: number): ResolvedSampling {
  const t = o.temperature ?? (o.greedy === false ? 1 : 0);
  if (!Number.isFinite(t) || t < 0 || t > 100) throw bad('temperature', `temperature must be a number from 0 to 100, got ${o.temperature}`);
  const greedy = o.greedy ?? t === 0;
  if (!greedy && t === 0) throw bad('temperature', 'sampling needs a temperature above 0 (or choose greedy decoding)');
  const topK = o.topK ?? 0;
  if (!Number.isInteger(topK) || topK < 0) throw bad('topK', `top-k must be a whole number ≥ 0 (0 = off), got ${o.topK}`);
  const topP = o.topP ?? 1;
  if (!Number.isFinite(topP) || topP <= 0 || topP > 1) throw bad('topP', `top-p must be in (0, 1], got ${o.topP}`);
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw bad('seed', `seed must be a whole number from 0 to 4294967295, got ${o.seed}`);
  return { greedy, temperature: greedy ? 1 : t, topK: Math.min(topK, vocab), topP, seed };
}

/** Argmax with the lowest index winning ties (NaN never wins). */
export function argmax(logits: ArrayLike<number>, offset = 0, n = logits.length - offset): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[offset + i]!;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}
