/// <reference types="node" />
/**
 * @file Inputs of the native cases: seeded random arrays (small, for checks against the CPU twins), GPU buffers
 * filled from a repeated random chunk (large weights, generated fast; values only need to be finite), repository
 * files (the shipped packs), SHA-256 and checksums of outputs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STORAGE } from '../../gpu/readback';

import { randomF32 } from '../measure';

export { maxAbsDiff, randomF32 } from '../measure';

/** Random bytes from xorshift32. */
export function randomBytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, n);
}

/** The bytes a GPU buffer of `kind` holds for `count` elements (int4: two per byte). */
export type FillKind = 'f32' | 'f16' | 'bytes' | 'ones' | 'scale';

const CHUNK = 4 << 20;
const chunks = new Map<FillKind, Uint8Array<ArrayBuffer>>();

/** A 4 MiB chunk of `kind`: f32 in ±0.05, f16 in ±0.05, random bytes, f32 ones, or f32 int4/int8 scales (0.004). */
function chunkOf(kind: FillKind): Uint8Array<ArrayBuffer> {
  let c = chunks.get(kind);
  if (c) return c;
  switch (kind) {
    case 'f32': {
      c = new Uint8Array(randomF32(CHUNK / 4, 11, 0.05).buffer as ArrayBuffer);
      break;
    }
    case 'f16': {
      // Halves with exponent 0x1e.. (about ±0.03..0.06) and random mantissa and sign: finite everywhere.
      const b = randomBytes(CHUNK, 13);
      const h = new Uint16Array(b.buffer);
      for (let i = 0; i < h.length; i++) h[i] = (h[i]! & 0x83ff) | 0x2800;
      c = b;
      break;
    }
    case 'bytes':
      c = randomBytes(CHUNK, 17);
      break;
    case 'ones':
      c = new Uint8Array(new Float32Array(CHUNK / 4).fill(1).buffer);
      break;
    case 'scale':
      c = new Uint8Array(new Float32Array(CHUNK / 4).fill(0.004).buffer);
      break;
  }
  chunks.set(kind, c!);
  return c!;
}

/** A new storage buffer of `bytes` (rounded up to 4) filled with `kind`. The caller owns it. */
export function filledBuffer(device: GPUDevice, bytes: number, kind: FillKind, label: string): GPUBuffer {
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  const buf = device.createBuffer({ label, size, usage: STORAGE });
  const chunk = chunkOf(kind);
  for (let o = 0; o < size; o += CHUNK) device.queue.writeBuffer(buf, o, chunk, 0, Math.min(CHUNK, size - o));
  return buf;
}

/** The repository root the shipped packs and fixtures are read from (RG_ROOT, else the working directory). */
export function repoRoot(): string {
  return process.env.RG_ROOT ?? process.cwd();
}

/** The bytes of a file under the repository root. */
export function repoFile(path: string): Uint8Array {
  return new Uint8Array(readFileSync(join(repoRoot(), path)));
}

/** A JSON file under the repository root. */
export function repoJson<T>(path: string): T {
  return JSON.parse(new TextDecoder().decode(repoFile(path))) as T;
}

/** Lower-case hex SHA-256 of the bytes of `data`. */
export async function sha256(data: ArrayBufferView): Promise<string> {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Sum, sum of magnitudes and largest magnitude of f32 values (how far two runs are apart when hashes differ). */
export interface Stats {
  sum: number;
  absSum: number;
  maxAbs: number;
  count: number;
}

export function stats(a: ArrayLike<number>): Stats {
  let sum = 0;
  let absSum = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    sum += v;
    absSum += Math.abs(v);
    if (!(Math.abs(v) <= maxAbs)) maxAbs = Math.abs(v);
  }
  return { sum, absSum, maxAbs, count: a.length };
}
