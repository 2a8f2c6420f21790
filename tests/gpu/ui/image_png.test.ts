/**
 * The input image as history keeps it (src/ui/image_png.ts), in Chromium: the format comes from the bytes, not the
 * name or type; JPEG, WebP, GIF and BMP named `.png` are re-encoded to a PNG of the same pixels; a PNG stays as it
 * is; no image, an undecodable one and one whose PNG would pass history's limit are refused (BAD_INPUT on `image`,
 * with the numbers).
 */
import { describe, expect, it } from 'vitest';
import { RgError } from '../../../src/errors';
import { inputPng, sniffImage } from '../../../src/ui/image_png';

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A seeded, opaque test picture drawn on a canvas, encoded as `type`. */
async function encoded(type: string, w = 24, h = 16, noise = false): Promise<Uint8Array> {
  const c = new OffscreenCanvas(w, h);
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  let s = 12345;
  for (let i = 0; i < w * h; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const x = i % w;
    const y = Math.floor(i / w);
    img.data.set(noise ? [s & 255, (s >> 8) & 255, (s >> 16) & 255, 255] : [x * 10, y * 15, 128, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return new Uint8Array(await (await c.convertToBlob({ type, quality: 1 })).arrayBuffer());
}

/** A 24-bit BMP, bottom-up rows padded to 4 bytes, pixel (x, y) = (x·40, y·60, 200). */
function bmp(w: number, h: number): Uint8Array {
  const row = Math.ceil((w * 3) / 4) * 4;
  const b = new Uint8Array(54 + row * h);
  const v = new DataView(b.buffer);
  b.set([0x42, 0x4d]);
  v.setUint32(2, b.length, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, w, true);
  v.setInt32(22, h, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  for (let y = 0; y < h; y++) {
    const at = 54 + (h - 1 - y) * row;
    for (let x = 0; x < w; x++) b.set([200, y * 60, x * 40], at + x * 3); // stored B, G, R
  }
  return b;
}

/** A 1×1 GIF89a (one white pixel). */
const GIF = Uint8Array.from([
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
  0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
]);

/** As the browser hands it over: the type comes from the name. */
const named = (bytes: Uint8Array, name = 'photo.png') =>
  new File([bytes as Uint8Array<ArrayBuffer>], name, { type: name.endsWith('.png') ? 'image/png' : 'image/jpeg' });

async function pixels(bytes: Uint8Array): Promise<ImageData> {
  const bmpImg = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
  });
  const c = new OffscreenCanvas(bmpImg.width, bmpImg.height);
  const ctx = c.getContext('2d')!;
  ctx.drawImage(bmpImg, 0, 0);
  bmpImg.close();
  return ctx.getImageData(0, 0, c.width, c.height);
}

async function refusal(p: Promise<unknown>): Promise<RgError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RgError);
  expect((e as RgError).code).toBe('BAD_INPUT');
  expect((e as RgError).field).toBe('image');
  return e as RgError;
}

describe('input images as history keeps them', () => {
  it('reads the format from the bytes', async () => {
    expect(sniffImage(await encoded('image/png'))).toBe('png');
    expect(sniffImage(await encoded('image/jpeg'))).toBe('jpeg');
    expect(sniffImage(await encoded('image/webp'))).toBe('webp');
    expect(sniffImage(GIF)).toBe('gif');
    expect(sniffImage(bmp(2, 2))).toBe('bmp');
    expect(sniffImage(new TextEncoder().encode('%PDF-1.4 not an image at all'))).toBeNull();
    expect(sniffImage(new Uint8Array(0))).toBeNull();
  });

  it.each([
    ['JPEG', () => encoded('image/jpeg'), 24, 16],
    ['WebP', () => encoded('image/webp'), 24, 16],
    ['GIF', async () => GIF, 1, 1],
    ['BMP', async () => bmp(5, 3), 5, 3],
  ] as const)('a %s named photo.png becomes a PNG of the same pixels', async (_name, make, w, h) => {
    const original = await make();
    const file = named(original);
    expect(file.type).toBe('image/png');
    const png = await inputPng(file);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIG);
    const [a, b] = await Promise.all([pixels(original), pixels(png)]);
    expect([b.width, b.height]).toEqual([w, h]);
    // Lossless: the PNG holds exactly the pixels the browser decodes from the original (opaque images).
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  it('keeps a PNG as it is, whatever its name says, and reuses the work for the same file', async () => {
    const original = await encoded('image/png');
    const file = named(original, 'really-a-png.jpg');
    const png = await inputPng(file);
    expect(png).toEqual(original);
    expect(inputPng(file)).toBe(inputPng(file));
  });

  it('refuses bytes that are no image, and an image the browser cannot decode', async () => {
    const pdf = await refusal(inputPng(named(new TextEncoder().encode('%PDF-1.4\n%%EOF\n'))));
    expect(pdf.message).toContain('not a PNG, JPEG, WebP, GIF or BMP image');
    const broken = await refusal(inputPng(named(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5]))));
    expect(broken.message).toContain('cannot decode the JPEG image');
  });

  it('refuses, with the numbers, an input whose PNG would pass the history limit', async () => {
    const jpeg = await encoded('image/jpeg', 64, 64, true);
    const png = await inputPng(named(jpeg));
    const limit = png.byteLength - 1;
    const e = await refusal(inputPng(named(jpeg), limit));
    expect(e.message).toContain(`As a PNG, this JPEG image takes`);
    expect(e.message).toContain(`(${png.byteLength} bytes)`);
    expect(e.message).toContain(`(${limit} bytes)`);
    expect(e.hint).toMatch(/fewer pixels/);
    // A PNG over the limit is refused the same way, before it is read.
    const big = await refusal(inputPng(named(png), 100));
    expect(big.message).toContain(`This PNG takes`);
    expect(big.message).toContain('(100 bytes)');
  });
});
