// The streaming safetensors reader against the whole-file parser: for any cut of the file into pieces (1 byte each,
// the header split, tensors split, seeded random sizes, the whole file at once) every tensor's bytes arrive exactly,
// in order, in whole units of its sink; a truncated, lengthened or damaged file is refused as parseSafetensors
// refuses it; partial units are the only copies it keeps.
import { describe, expect, it } from 'vitest';
import { parseSafetensors, tensorBytes, type SafeTensors } from '../../../src/packs/safetensors';
import {
  readSafetensors,
  SafetensorsStream,
  StagingMeter,
  type TensorSink,
} from '../../../src/packs/safetensors_stream';
import { RgError } from '../../../src/errors';
import { writeSafetensors } from '../../helpers/safetensors';
import { mulberry32, randomF32 } from '../../helpers/rng';

const file = writeSafetensors([
  ['a', 'F32', [3, 5], randomF32(15, 1)],
  ['empty', 'F32', [0, 4], new Float32Array(0)],
  ['b', 'I8', [4, 12], Int8Array.from(randomF32(48, 2, -100, 100))],
  ['c', 'F16', [6, 2], Uint16Array.from(randomF32(12, 3, 0, 65535))],
  ['d', 'U8', [2, 8], Uint8Array.from(randomF32(16, 4, 0, 255))],
]);
const whole = parseSafetensors(file, 'test');
/** The unit each tensor is read in: one row (a: 20 bytes, b: 12, c: 4, d: 8). */
const UNITS: Record<string, number> = { a: 20, b: 12, c: 4, d: 8, empty: 16 };

/** Reads `file` cut at `cuts` (offsets); returns each tensor's bytes as delivered, checking units and order. */
async function stream(bytes: Uint8Array, cuts: number[], units = UNITS) {
  const got = new Map<string, number[]>();
  let header: SafeTensors | null = null;
  const meter = new StagingMeter();
  const reader = new SafetensorsStream(
    'test',
    (st) => {
      header = st;
      return (t): TensorSink => ({
        unit: units[t.name]!,
        write: (b, off) => {
          const seen = got.get(t.name) ?? [];
          expect(off, `${t.name} in order`).toBe(seen.length);
          expect(b.byteLength % units[t.name]!, `${t.name} in whole units`).toBe(0);
          expect(b.byteLength).toBeGreaterThan(0);
          got.set(t.name, [...seen, ...b]);
        },
      });
    },
    meter,
  );
  const pieces = [0, ...cuts, bytes.length].slice(1).map((end, i, a) => bytes.subarray(i ? a[i - 1] : 0, end));
  await readSafetensors(
    (async function* () {
      yield* pieces.filter((p) => p.length > 0);
    })(),
    reader,
    meter,
  );
  return { got, header: header as SafeTensors | null, meter };
}

function expectWhole(got: Map<string, number[]>) {
  for (const name of ['a', 'b', 'c', 'd']) expect(got.get(name), name).toEqual([...tensorBytes(file, whole, name)]);
  expect(got.has('empty')).toBe(false);
}

const headerEnd = whole.dataOffset;
const a = whole.tensors.get('a')!;
const b = whole.tensors.get('b')!;

describe('safetensors stream reader', () => {
  it.each([
    ['the whole file at once', []],
    ['inside the 8-byte length', [3]],
    ['inside the JSON header', [8 + 5, headerEnd - 1]],
    ['at the header end', [headerEnd]],
    ['inside a row of a', [a.begin + 7, a.begin + 30]],
    ['inside a row of a, then of b', [a.begin + 19, b.begin + 1, b.begin + 25]],
    ['at tensor boundaries', [a.end, b.end]],
  ] as const)('pieces cut %s', async (_, cuts) => {
    const { got, header } = await stream(file, [...cuts]);
    expectWhole(got);
    expect([...header!.tensors.values()]).toEqual([...whole.tensors.values()]);
  });

  it('one byte a piece', async () => {
    const { got, meter } = await stream(
      file,
      Array.from({ length: file.length - 1 }, (_, i) => i + 1),
    );
    expectWhole(got);
    expect(meter.pieces).toBe(file.length);
    // Held at once: the piece (1 byte) and at most one partial row; never the header and a row together.
    expect(meter.peak).toBeLessThanOrEqual(1 + Math.max(headerEnd - 8, ...Object.values(UNITS)));
    expect(meter.current).toBe(0);
  });

  it('seeded random piece sizes, any unit', async () => {
    const r = mulberry32(7);
    for (let trial = 0; trial < 20; trial++) {
      const cuts: number[] = [];
      for (let at = 0; ;) {
        at += 1 + Math.floor(r() * 40);
        if (at >= file.length) break;
        cuts.push(at);
      }
      const { got } = await stream(file, cuts, trial % 2 ? UNITS : { a: 4, b: 1, c: 2, d: 16, empty: 1 });
      expectWhole(got);
    }
  });

  it('refuses a file that ends early, goes on, or has a damaged header, as the whole-file parser does', async () => {
    const refuse = async (bytes: Uint8Array, message: RegExp) => {
      const err = await stream(bytes, [5, 40]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RgError);
      expect(err).toMatchObject({ code: 'INTEGRITY' });
      expect((err as Error).message).toMatch(message);
      expect(() => parseSafetensors(bytes, 'test')).toThrow(RgError);
    };
    await refuse(file.subarray(0, file.length - 1), /^test: data section ends at \d+, file has \d+ bytes$/);
    await refuse(file.subarray(0, 20), /^test: the file ends inside its header$/);
    const longer = new Uint8Array(file.length + 4);
    longer.set(file);
    await refuse(longer, /^test: data section ends at \d+, the file goes on$/);
    const badJson = file.slice();
    badJson[8] = 0x5b; // '[': the header is no longer an object
    await refuse(badJson, /^test: header is not (JSON|an object)/);
  });

  it('a sink whose unit does not divide its tensor is a programming error (INTERNAL)', async () => {
    const err = await stream(file, [], { ...UNITS, a: 7 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INTERNAL' });
    expect((err as Error).message).toBe('test: a cannot be read in units of 7 bytes');
  });
});
