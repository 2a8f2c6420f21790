/**
 * @file A minimal safetensors writer for tests (the layout of docs/formats.md: 8-byte LE header length, JSON header
 * padded with spaces to a multiple of 8, tensors back to back in the given order, each starting at a multiple of 4).
 */
import type { SafeDtype } from '../../src/packs/safetensors';

export function writeSafetensors(tensors: [string, SafeDtype, number[], ArrayBufferView][]): Uint8Array {
  const header: Record<string, unknown> = {};
  let off = 0;
  const placed = tensors.map(([name, dtype, shape, data]) => {
    const begin = off;
    off += data.byteLength;
    header[name] = { dtype, shape, data_offsets: [begin, off] };
    const pad = (4 - (off % 4)) % 4;
    if (pad) throw new Error(`writeSafetensors: ${name} ends off a 4-byte boundary`);
    return { begin, data };
  });
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  for (const { begin, data } of placed)
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 8 + head.length + begin);
  return out;
}
