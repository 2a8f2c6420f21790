// Issue 17 item 11 in the browser, with real files: huge inputs are refused before they are read whole.
// - a PNG or JPEG of a few dozen bytes whose header declares 20000×20000 is refused from that header, by the
//   pipeline's decoder and by the image picker, without anything decoding it;
// - a history zip over the limit is refused from its size, before it is read; import inflates in a module worker.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { strToU8, zipSync } from 'fflate';
import { RgError } from '../../../src/errors';
import { decodeImage } from '../../../src/models/reasoner/image';
import { ImageInputState } from '../../../src/ui/state/image_input.svelte';
import { HistoryStore } from '../../../src/store/history';
import { BUNDLE_FORMAT, importHistory } from '../../../src/store/history_zip';
import { dbName } from './fixture';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG chunk: length, type, data, CRC of type + data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(strToU8(type), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** The start of a PNG that declares `w`×`h` RGBA pixels: signature, IHDR, IEND; no pixel data at all. */
function hugePngHeader(w: number, h: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter, no interlace
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  parts.push(chunk('IEND', new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The start of a baseline JPEG that declares `w`×`h`: SOI, a JFIF APP0 segment, SOF0, EOI. */
function hugeJpegHeader(w: number, h: number): Uint8Array {
  const app0 = [0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0, 0];
  const sof0 = [0xff, 0xc0, 0x00, 0x11, 8, h >> 8, h & 0xff, w >> 8, w & 0xff, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1];
  return new Uint8Array([0xff, 0xd8, ...app0, ...sof0, 0xff, 0xd9]);
}

async function smallPng(): Promise<Uint8Array> {
  const c = new OffscreenCanvas(4, 4);
  c.getContext('2d')!.fillRect(0, 0, 4, 4);
  return new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('huge images are refused from their header, before decoding', () => {
  for (const [kind, bytes, type] of [
    ['PNG', hugePngHeader(20000, 20000), 'image/png'],
    ['JPEG', hugeJpegHeader(20000, 20000), 'image/jpeg'],
  ] as const) {
    it(`the pipeline's decoder: a ${bytes.length}-byte ${kind} declaring 20000×20000`, async () => {
      const decode = vi.spyOn(globalThis, 'createImageBitmap');
      const err = await decodeImage(new Blob([bytes as BlobPart], { type })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RgError);
      expect((err as RgError).code).toBe('BAD_INPUT');
      expect((err as RgError).field).toBe('image');
      expect((err as RgError).message).toContain('20000×20000 (400.0 megapixels)');
      expect((err as RgError).message).toContain('the limit is 33.6 megapixels');
      expect(decode).not.toHaveBeenCalled();
    });

    it(`the image picker: a ${kind} file declaring 20000×20000 is refused; the previous image stays`, async () => {
      const input = new ImageInputState();
      const small = new File([(await smallPng()) as BlobPart], 'small.png', { type: 'image/png' });
      expect(await input.set(small)).toBe(true);
      const url = input.url;
      const huge = new File([bytes as BlobPart], `huge.${kind.toLowerCase()}`, { type });
      expect(await input.set(huge)).toBe(false);
      expect(input.error).toContain(`“huge.${kind.toLowerCase()}”: the image is 20000×20000`);
      expect(input.error).toContain('Downscale the image first.');
      expect(input.file).toBe(small);
      expect(input.url).toBe(url);
      input.clear();
    });
  }

  it('a small image with a readable header still decodes', async () => {
    const bitmap = await decodeImage(new Blob([(await smallPng()) as BlobPart], { type: 'image/png' }));
    expect([bitmap.width, bitmap.height]).toEqual([4, 4]);
    (bitmap as ImageBitmap).close();
  });
});

describe('history zips', () => {
  async function bundle(): Promise<Uint8Array> {
    const json = {
      format: BUNDLE_FORMAT,
      version: 1,
      exportedAt: 1_700_000_000_000,
      runs: [
        {
          id: 'run-1',
          createdAt: 1_700_000_000_000,
          mode: 'imagine',
          inputs: { prompt: 'draw 1 apple' },
          settings: { steps: 8 },
          reasoning: '',
          answer: '1 apple',
          timings: { total: 1 },
          pack: { id: 'tiny-random', manifestSha256: '0123456789abcdef'.repeat(4) },
          image: 'images/run-1.png',
          inputImage: null,
        },
      ],
    };
    return zipSync({ 'history.json': strToU8(JSON.stringify(json)), 'images/run-1.png': await smallPng() });
  }

  it('a zip over the limit is refused from its size, before it is read; nothing changes', async () => {
    const zip = await bundle();
    const file = new File([zip as BlobPart], 'history.zip', { type: 'application/zip' });
    const read = vi.spyOn(Blob.prototype, 'arrayBuffer');
    const h = new HistoryStore(dbName());
    const err = await importHistory(file, h, zip.length - 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RgError);
    expect((err as RgError).code).toBe('BAD_INPUT');
    expect((err as RgError).message).toMatch(/^The history bundle was refused: it is .* larger than the .*\./);
    expect(read).not.toHaveBeenCalled();
    expect(await h.list()).toEqual([]);
  });

  it('import inflates the zip in a module worker, then adds its runs', async () => {
    const seen: string[] = [];
    const Original = globalThis.Worker;
    vi.stubGlobal(
      'Worker',
      class extends Original {
        constructor(url: string | URL, opts?: WorkerOptions) {
          seen.push(`${opts?.name ?? ''} ${String(url)}`);
          super(url, opts);
        }
      },
    );
    try {
      const h = new HistoryStore(dbName());
      const file = new File([(await bundle()) as BlobPart], 'history.zip', { type: 'application/zip' });
      expect(await importHistory(file, h)).toEqual({ added: 1, skipped: 0 });
      expect((await h.list()).map((m) => m.id)).toEqual(['run-1']);
      expect(seen.some((s) => s.startsWith('rg-unzip ') && s.includes('unzip.worker'))).toBe(true);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
