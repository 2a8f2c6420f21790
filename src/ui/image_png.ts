/**
 * @file The input image of a run as history keeps it: PNG bytes. The browser takes a file's type from its name, so
 * a JPEG called `photo.png` arrives as `image/png`; the format is therefore read from the bytes, a PNG is kept as it
 * is, and any other image the browser decodes (JPEG, WebP, GIF, BMP) is re-encoded to PNG in the page. Runs call
 * this BEFORE the worker starts, so an image history could not keep is refused up front, with the numbers, and a
 * finished run is never lost to its input.
 */
import { badInput, RgError } from '../errors';
import { MAX_HISTORY_PNG_BYTES, MAX_IMAGE_PIXELS } from '../limits';
import { formatBytes } from '../store/storage';

export type SniffedFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp';

const ascii = (b: Uint8Array, at: number, s: string) => [...s].every((c, i) => b[at + i] === c.charCodeAt(0));

/** The image format the first bytes announce, whatever the file's name or type say; null when none we know. */
export function sniffImage(head: Uint8Array): SniffedFormat | null {
  if ([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => head[i] === v)) return 'png';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) return 'webp';
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a')) return 'gif';
  if (ascii(head, 0, 'BM') && head.length >= 26) return 'bmp';
  return null;
}

const tooBig = (what: string, bytes: number, max: number) =>
  badInput(
    'image',
    `${what} takes ${formatBytes(bytes)} (${bytes} bytes); history keeps images up to ` +
      `${formatBytes(max)} (${max} bytes), so the run would finish and not be saved`,
    'Use an image with fewer pixels, or a more compressible one, then run again.',
  );

/** Memo per file: the same image is not decoded and encoded again for every run. */
const memo = new WeakMap<Blob, { max: number; png: Promise<Uint8Array> }>();

/**
 * The PNG bytes history will keep for `file`: the file itself when its bytes are a PNG, else the decoded image
 * re-encoded to PNG. Refuses (BAD_INPUT on the field `image`, nothing else changed) bytes that are no image we know,
 * an image the browser cannot decode, and a PNG larger than `maxBytes`.
 */
export function inputPng(file: Blob, maxBytes = MAX_HISTORY_PNG_BYTES): Promise<Uint8Array> {
  const hit = memo.get(file);
  if (hit && hit.max === maxBytes) return hit.png;
  const png = toPng(file, maxBytes);
  memo.set(file, { max: maxBytes, png });
  png.catch(() => memo.delete(file));
  return png;
}

async function toPng(file: Blob, maxBytes: number): Promise<Uint8Array> {
  const format = sniffImage(new Uint8Array(await file.slice(0, 32).arrayBuffer()));
  if (!format) {
    throw badInput(
      'image',
      'this file is not a PNG, JPEG, WebP, GIF or BMP image (its bytes say otherwise, whatever its name says)',
      'Choose an image file.',
    );
  }
  if (format === 'png') {
    if (file.size > maxBytes) throw tooBig('This PNG', file.size, maxBytes);
    return new Uint8Array(await file.arrayBuffer());
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw badInput(
      'image',
      `this browser cannot decode the ${format.toUpperCase()} image: ${(e as Error).message || 'unknown reason'}`,
      'Use a PNG, JPEG or WebP image.',
    );
  }
  try {
    const { width, height } = bitmap;
    if (width * height > MAX_IMAGE_PIXELS) {
      throw badInput(
        'image',
        `the image is ${width}×${height} pixels; the limit is ${MAX_IMAGE_PIXELS} pixels`,
        'Use a smaller image.',
      );
    }
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new RgError('INTERNAL', 'No 2D canvas to re-encode the image as PNG');
    ctx.drawImage(bitmap, 0, 0);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    if (blob.size > maxBytes) throw tooBig(`As a PNG, this ${format.toUpperCase()} image`, blob.size, maxBytes);
    return new Uint8Array(await blob.arrayBuffer());
  } finally {
    bitmap.close();
  }
}
