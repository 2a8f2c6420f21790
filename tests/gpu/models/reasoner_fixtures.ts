/** @file Shared by the reasoner tests: the tiny-random pack, its PyTorch fixtures, checksum and error helpers. */
import { expect } from 'vitest';
import fx from '../../fixtures/tiny-random/fixtures.json';
import { FetchPackSource } from '../../../src/packs/source';
import type { ChatMessage } from '../../../src/models/reasoner/prompts';

export { fx };

export interface GreedyFixture {
  name: string;
  messages: ChatMessage[];
  rendered: string;
  input_ids: number[];
  prompt_length: number;
  max_new_tokens: number;
  generated_ids: number[];
  generated_text: string;
  hidden_rows: number;
  hidden_checksum: Checksum;
  prefill_hidden_checksum: Checksum;
  /** The same rows after the final norm (not the condition: MindOmni's is before it). */
  post_norm_hidden_checksum: Checksum;
  image?: string;
  pixel_values?: { file: string; shape: number[] };
}

export interface Checksum {
  sum: number;
  abs_sum: number;
  count: number;
}

export const GREEDY = fx.greedy as unknown as GreedyFixture[];

/** The shipped tiny-random pack, fetched from the test server and verified against its manifest. */
export function tinyRandom(): FetchPackSource {
  return new FetchPackSource('tiny-random', new URL('/models/tiny-random/', location.href).href);
}

const FIXTURE_URLS: Record<string, string> = {
  'understand_image.png': new URL('../../fixtures/tiny-random/understand_image.png', import.meta.url).href,
  'understand_pixel_values.bin': new URL('../../fixtures/tiny-random/understand_pixel_values.bin', import.meta.url)
    .href,
  'edit_input.png': new URL('../../fixtures/tiny-random/edit_input.png', import.meta.url).href,
  'edit_pixel_values.bin': new URL('../../fixtures/tiny-random/edit_pixel_values.bin', import.meta.url).href,
  'negative_condition.bin': new URL('../../fixtures/tiny-random/negative_condition.bin', import.meta.url).href,
  'imagine_condition.bin': new URL('../../fixtures/tiny-random/imagine_condition.bin', import.meta.url).href,
};

/** The bytes of a fixture file. */
export async function fixtureBytes(name: string): Promise<Uint8Array> {
  const url = FIXTURE_URLS[name];
  if (!url) throw new Error(`no URL for fixture ${name}`);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${name}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function fixtureF32(name: string): Promise<Float32Array> {
  const b = await fixtureBytes(name);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

export function checksum(a: ArrayLike<number>): Checksum {
  let sum = 0;
  let abs = 0;
  for (let i = 0; i < a.length; i++) {
    sum += a[i]!;
    abs += Math.abs(a[i]!);
  }
  return { sum, abs_sum: abs, count: a.length };
}

/**
 * The hidden-state tolerance: |Δsum| and |Δabs_sum| ≤ 1e-5 · abs_sum + 1e-3 (about 0.06 for the CoT prompt's
 * 7680 values, i.e. ~1e-5 relative; the same bound the node-side ORT test uses).
 */
export function expectChecksum(a: ArrayLike<number>, want: Checksum): void {
  const got = checksum(a);
  expect(got.count).toBe(want.count);
  const tol = 1e-5 * want.abs_sum + 1e-3;
  expect(Math.abs(got.sum - want.sum), `sum ${got.sum} vs ${want.sum}`).toBeLessThan(tol);
  expect(Math.abs(got.abs_sum - want.abs_sum), `abs_sum ${got.abs_sum} vs ${want.abs_sum}`).toBeLessThan(tol);
}

/**
 * How far `a` is from `b`: `max` = max |a − b| / max |b| (the worst element against the size of the values),
 * `norm` = ‖a − b‖₂ / ‖b‖₂.
 */
export function relativeError(a: Float32Array, b: Float32Array): { max: number; norm: number } {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  let d2 = 0;
  let b2 = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i]! - b[i]!;
    diff = Math.max(diff, Math.abs(d));
    scale = Math.max(scale, Math.abs(b[i]!));
    d2 += d * d;
    b2 += b[i]! * b[i]!;
  }
  return { max: diff / scale, norm: Math.sqrt(d2 / b2) };
}
