// The safetensors reader: the shipped painter files parse, views are typed and aligned, and malformed headers are
// INTEGRITY errors that name what is wrong.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile, parseSafetensorsHeader } from '../../../src/models/safetensors';
import { RgError } from '../../../src/errors';

const FILE = fileURLToPath(new URL('../../../public/models/tiny-random/painter.int4.safetensors', import.meta.url));

/** Builds a safetensors file from a header object and a data section. */
function build(header: unknown, data: Uint8Array, pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('reads the shipped int4 painter: dtypes, shapes and views without copies', () => {
    const bytes = readFileSync(FILE);
    const f = new SafetensorsFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const q = f.get('painter.layers.0.mlp.gate_up_proj.weight_q4', 'U8');
    expect(q).toBeInstanceOf(Uint8Array);
    expect(f.info('painter.layers.0.mlp.gate_up_proj.weight_q4').shape).toEqual([256, 32]);
    const s = f.get('painter.layers.0.mlp.gate_up_proj.weight_scale', 'F32');
    expect(s).toBeInstanceOf(Float32Array);
    expect(s.length).toBe(512);
    expect(s.buffer).toBe(bytes.buffer); // a view into the file
    expect(s.every((v) => v > 0 && Number.isFinite(v))).toBe(true);
  });

  it('copies data that is not aligned for its type', () => {
    const data = new Uint8Array(12);
    new DataView(data.buffer).setFloat32(0, 1.5, true);
    new DataView(data.buffer).setFloat32(4, -2, true);
    // header padded so the data section starts at an odd offset
    let raw = build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'U8', shape: [4], data_offsets: [8, 12] } }, data);
    if ((raw.length - 12) % 4 === 0) raw = build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'U8', shape: [4], data_offsets: [8, 12] } }, data, 1);
    const f = new SafetensorsFile(raw);
    expect(Array.from(f.get('a', 'F32'))).toEqual([1.5, -2]);
    expect(f.get('b').length).toBe(4);
  });

  const bad: [string, Uint8Array, string][] = [
    ['too short', new Uint8Array(4), 'safetensors: 4 bytes is too short for a header'],
    ['header past the end', (() => { const b = build({}, new Uint8Array(0)); new DataView(b.buffer).setBigUint64(0, 999n, true); return b; })(), 'runs past'],
    ['not JSON', (() => { const b = build({}, new Uint8Array(0)); b[8] = 0x7a; return b; })(), 'not valid UTF-8 JSON'],
    ['unknown dtype', build({ a: { dtype: 'Q7', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), 'a: unknown dtype Q7'],
    ['size mismatch', build({ a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, new Uint8Array(20)), 'a: F32 [2,3] needs 24 bytes but data_offsets span 20'],
    ['past the data', build({ a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } }, new Uint8Array(4)), 'a: data_offsets end at 8, past the 4 data bytes'],
    ['overlap', build({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } }, new Uint8Array(6)), 'b overlaps a'],
  ];
  it.each(bad)('rejects %s', (_, bytes, message) => {
    expect(() => new SafetensorsFile(bytes)).toThrow(RgError);
    expect(() => new SafetensorsFile(bytes)).toThrow(message);
  });

  it('names missing tensors and dtype mismatches', () => {
    const f = new SafetensorsFile(build({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)));
    expect(() => f.get('nope')).toThrow('safetensors: no tensor named nope');
    expect(() => f.get('a', 'F32')).toThrow('safetensors: a is U8, not F32');
  });

  it('parses a header from a prefix of the file (ranged fetch)', () => {
    const bytes = new Uint8Array(readFileSync(FILE));
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const h = parseSafetensorsHeader(bytes.subarray(0, 8 + n));
    expect(h.dataStart).toBe(8 + n);
    expect(h.tensors.size).toBeGreaterThan(10);
  });
});
