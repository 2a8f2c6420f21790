/** @file Shared by the painter and pipeline tests: the tiny-random pack and its PyTorch painter fixtures. */
import fx from '../../fixtures/tiny-random/fixtures.json';
import { FetchPackSource } from '../../../src/packs/source';
import { GpuBatch } from '../../../src/gpu/batch';
import { emptyBuffer, readF32, uploadBuffer } from '../../../src/gpu/readback';
import type { PainterEngine } from '../../../src/models/painter/dit';

export { fx };

const FILES = import.meta.glob('../../fixtures/tiny-random/*.{bin,png}', {
  query: '?url',
  import: 'default',
  eager: true,
}) as Record<string, string>;

/** The bytes of a fixture file (by its name in tests/fixtures/tiny-random/). */
export async function fixtureBytes(name: string): Promise<Uint8Array> {
  const url = FILES[`../../fixtures/tiny-random/${name}`];
  if (!url) throw new Error(`no fixture ${name}`);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${name}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function fixtureF32(name: string): Promise<Float32Array> {
  const b = await fixtureBytes(name);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

let pack: FetchPackSource | null = null;
/** The shipped tiny-random pack, verified against its manifest (one instance, so files are fetched once). */
export function tinyRandom(): FetchPackSource {
  pack ??= new FetchPackSource('tiny-random', new URL('/models/tiny-random/', location.href).href);
  return pack;
}

/** max |a − b| */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}

/**
 * One velocity of `engine` at timestep `t` on `latents` [C, h, w] with `conditions` (B = 1 or 2 rows of the
 * connector's input width): branch 0's v (B = 1) or the CFG combination with `guidance`. The step adds dt · v to a
 * zeroed buffer with dt = 1, so what it holds is v.
 */
export async function engineVelocity(
  engine: PainterEngine,
  conditions: Float32Array[],
  latents: Float32Array,
  shape: { h: number; w: number; t: number; guidance?: number },
): Promise<Float32Array> {
  const device = engine.device;
  const H = engine.cc.input_size;
  const s = engine.session({
    conditions: conditions.map((c) => ({ rows: c.length / H, hidden: H, cpu: c })),
    h: shape.h,
    w: shape.w,
    timesteps: [shape.t],
  });
  const zIn = uploadBuffer(device, latents, 'test latents');
  const zOut = emptyBuffer(device, latents.byteLength, 'test v');
  try {
    const batch = new GpuBatch(device, 'painter velocity');
    s.encodePrepare(batch);
    s.encodePrefix(batch);
    s.encodeStep(batch, 0, zIn, zOut, shape.guidance ?? 1, 1);
    batch.submit();
    return await readF32(device, zOut);
  } finally {
    s.dispose();
    zIn.destroy();
    zOut.destroy();
  }
}
