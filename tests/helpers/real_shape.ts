/**
 * @file The real-shape greedy check shared by the fast test (tests/real_shape/reasoner_real_shape_fast.test.ts, 2
 * layers) and the full one (tests/real_shape/, 24 layers, `npm run test:real-shape`): seeded random int4 weights of
 * the preset uploaded to the engine, greedy tokens after a 32-token prompt against the CPU twin's on the same
 * weights.
 */
import { expect } from 'vitest';
import { liveBufferCount } from '../../src/gpu/device';
import { ReasonerEngine } from '../../src/models/reasoner/engine';
import {
  memoTensors,
  realShapeWeights,
  REAL_SHAPE_PRESETS,
  type RealShapePreset,
  type TensorGetter,
} from '../../src/models/reasoner/random_pack';
import { reasonerReference, type ReferenceRun } from '../../src/models/reasoner/reference';
import { uploadReasonerTensors } from '../../src/models/reasoner/tensor_upload';
import { engineGreedy, realShapePrompt, type GreedyResult } from '../../src/bench/real_shape';
import type { ReasonerConfig } from '../../src/packs/manifest';
import { reasonerTensorShapes } from '../../src/models/reasoner/weights';

export const PROMPT_LENGTH = 32;
export const NEW_TOKENS = 8;
export const SEED = 1;

export interface RealShapeSetup {
  config: ReasonerConfig;
  prompt: number[];
  int4: TensorGetter;
  /** Seconds spent making the weights (the first call of every tensor). */
  makeSeconds: number;
}

/** The preset's config, its prompt and its int4 weights, all made now (kept for the twin and the uploads). */
export function realShapeSetup(preset: RealShapePreset): RealShapeSetup {
  const config = REAL_SHAPE_PRESETS[preset];
  const int4 = memoTensors(realShapeWeights(config, SEED, 'int4'));
  const t0 = performance.now();
  for (const name of reasonerTensorShapes(config).keys()) int4(name);
  const makeSeconds = (performance.now() - t0) / 1000;
  return { config, prompt: realShapePrompt(config.vocab_size, PROMPT_LENGTH, SEED), int4, makeSeconds };
}

/** The engine's greedy tokens (and prefill logits) on `get`, `maxBindingBytes` forcing shards; nothing leaks. */
export async function engineOn(
  device: GPUDevice,
  s: RealShapeSetup,
  get: TensorGetter,
  maxBindingBytes?: number,
): Promise<GreedyResult & { shards: number; precision: string }> {
  const before = liveBufferCount(device);
  const w = uploadReasonerTensors(device, s.config, get, { maxBindingBytes });
  const engine = new ReasonerEngine(device, w, s.config);
  try {
    const r = await engineGreedy(engine, s.prompt, NEW_TOKENS, { logits: true });
    const shards = 'shards' in w.embed ? w.embed.shards.length : 1;
    return { ...r, shards, precision: engine.precision };
  } finally {
    engine.dispose();
    expect(liveBufferCount(device)).toBe(before);
  }
}

/** The twin's run on `get`, its per-step times logged. */
export function twinOn(s: RealShapeSetup, get: TensorGetter): ReferenceRun {
  const times: string[] = [];
  const r = reasonerReference(s.config, get, s.prompt, NEW_TOKENS, (_, ms) => times.push((ms / 1000).toFixed(1)));
  console.log(`CPU twin: ${r.ids.join(',')}; step seconds ${times.join(', ')}`);
  console.log(`twin top-1 − top-2 margins: ${r.picks.map((p) => (p.top1 - p.top2).toFixed(3)).join(', ')}`);
  return r;
}

/** max |a|. */
export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** max |a − b| / max |b|. */
export function relMax(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}
