/**
 * @file The reasoner's image processor: decode any image the browser can decode (createImageBitmap, which works in
 * a worker), refuse it when it is over the byte or pixel limit, composite transparency onto white, resize to the
 * vision encoder's square input with an OffscreenCanvas (no crop: the pack's preprocessor has
 * `do_center_crop: false`), and normalise per the pack: pixel_values = (pixel / 255 − mean) / std, NCHW RGB.
 */
import { RgError, badInput } from '../../errors';
import type { VisionConfig } from '../../packs/manifest';

import { imageSize } from 'image-size';
import { MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS } from '../../limits';

/**
 * Images over MAX_IMAGE_BYTES are refused before they are read, over MAX_IMAGE_PIXELS from their header before they
 * are decoded (and again after decoding, for a format whose header does not say).
 */
export { MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS };

/** Raw RGBA pixels (e.g. an image the app generated earlier). */
export interface RgbaImage {
  width: number;
  height: number;
  /** width · height · 4 bytes, RGBA, not premultiplied. */
  data: Uint8ClampedArray | Uint8Array;
}

/** An encoded image file (PNG, JPEG, WebP, GIF, BMP, AVIF… whatever this browser decodes), or raw pixels. */
export type ImageInput = Blob | ArrayBuffer | Uint8Array | RgbaImage;

export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxBytes: MAX_IMAGE_BYTES, maxPixels: MAX_IMAGE_PIXELS };

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 2 : 1)} MiB`;

function isRgba(x: ImageInput): x is RgbaImage {
  return typeof x === 'object' && x !== null && 'width' in x && 'height' in x && 'data' in x && !(x instanceof Blob);
}

/**
 * A decoded image, checked against the limits. The caller closes the bitmap (`close()`); raw pixels come back as
 * ImageData. Throws RgError('BAD_INPUT', field) for an undecodable or oversized image.
 */
export async function decodeImage(
  input: ImageInput,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
  field = 'image',
): Promise<ImageBitmap | ImageData> {
  if (isRgba(input)) {
    const { width, height, data } = input;
    if (
      !Number.isInteger(width) ||
      !Number.isInteger(height) ||
      width < 1 ||
      height < 1 ||
      data.length !== width * height * 4
    ) {
      throw badInput(
        field,
        `the raw image must be width · height · 4 RGBA bytes (got ${width}×${height} and ${data.length} bytes)`,
      );
    }
    checkPixels(width, height, limits, field);
    return new ImageData(Uint8ClampedArray.from(data), width, height);
  }
  const size = input instanceof Blob ? input.size : input.byteLength;
  if (size === 0) throw badInput(field, 'the image file is empty');
  if (size > limits.maxBytes) {
    throw badInput(
      field,
      `the image file is ${mib(size)}; the limit is ${mib(limits.maxBytes)}`,
      'Use a smaller or more compressed image.',
    );
  }
  // Small bytes can declare huge dimensions (a 20000×20000 PNG of a few hundred bytes): the header decides first.
  const bytes = input instanceof Blob ? null : input instanceof Uint8Array ? input : new Uint8Array(input);
  const head = bytes
    ? bytes.subarray(0, IMAGE_HEADER_BYTES)
    : new Uint8Array(await (input as Blob).slice(0, IMAGE_HEADER_BYTES).arrayBuffer());
  checkImageHeader(head, limits, field);
  const blob = input instanceof Blob ? input : new Blob([input as BlobPart]);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw badInput(
      field,
      `this browser cannot decode the image${blob.type ? ` (${blob.type})` : ''}: ` +
        `${(e as Error).message || 'unknown format'}`,
      'Use a PNG, JPEG or WebP image.',
    );
  }
  try {
    checkPixels(bitmap.width, bitmap.height, limits, field);
  } catch (e) {
    bitmap.close();
    throw e;
  }
  return bitmap;
}

/** Bytes read from the start of an image file to find its dimensions (a JPEG's frame header can follow EXIF data). */
export const IMAGE_HEADER_BYTES = 256 * 1024;

/**
 * The dimensions an image file's first bytes declare (PNG, JPEG, WebP, GIF, BMP… as `image-size` reads them), or
 * null when they do not say (an unknown format, or a header beyond the bytes given).
 */
export function headerDimensions(head: Uint8Array): { width: number; height: number; type: string } | null {
  try {
    const r = imageSize(head);
    return r.width && r.height ? { width: r.width, height: r.height, type: r.type ?? 'image' } : null;
  } catch {
    return null;
  }
}

/**
 * Refuses an image whose header declares more pixels than `limits.maxPixels`, before anything decodes it. Throws
 * RgError('BAD_INPUT', field); an image whose header does not say is left to the decoder (checked again after).
 */
export function checkImageHeader(head: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS, field = 'image'): void {
  const d = headerDimensions(head);
  if (d) checkPixels(d.width, d.height, limits, field);
}

function checkPixels(width: number, height: number, limits: ImageLimits, field: string): void {
  if (width * height > limits.maxPixels) {
    throw badInput(
      field,
      `the image is ${width}×${height} (${((width * height) / 1e6).toFixed(1)} megapixels); ` +
        `the limit is ${(limits.maxPixels / 1e6).toFixed(1)} megapixels`,
      'Downscale the image first.',
    );
  }
}

/**
 * Resizes a decoded image to `width`×`height` (default square; transparent areas on white) and returns its RGB
 * bytes, [height, width, 3]. An image already at that size is copied pixel for pixel. The one image resize of the
 * app: the reasoner's vision input and Edit's VAE input both come from it.
 */
export function resizeRgb(image: ImageBitmap | ImageData, width: number, height = width): Uint8Array {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!ctx) throw new RgError('INTERNAL', 'OffscreenCanvas has no 2d context');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  if (image instanceof ImageData) {
    // ImageData cannot be drawn scaled directly: put it on its own canvas first.
    const src = new OffscreenCanvas(image.width, image.height);
    src.getContext('2d')!.putImageData(image, 0, 0);
    ctx.drawImage(src, 0, 0, width, height);
  } else {
    ctx.drawImage(image, 0, 0, width, height);
  }
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    rgb[p * 3] = rgba[p * 4]!;
    rgb[p * 3 + 1] = rgba[p * 4 + 1]!;
    rgb[p * 3 + 2] = rgba[p * 4 + 2]!;
  }
  return rgb;
}

/** RGB bytes [H, W, 3] → pixel_values [1, 3, H, W], (pixel / 255 − mean) / std in f32 (as the Python tools do). */
export function normalise(
  rgb: Uint8Array,
  size: number,
  mean: readonly number[],
  std: readonly number[],
): Float32Array {
  const n = size * size;
  const out = new Float32Array(3 * n);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const m = f(mean[c]!);
    const s = f(std[c]!);
    for (let p = 0; p < n; p++) out[c * n + p] = f(f(f(rgb[p * 3 + c]! / 255) - m) / s);
  }
  return out;
}

/**
 * The whole processor: `input` → pixel_values [1, 3, S, S] for the pack's vision encoder. Throws
 * RgError('BAD_INPUT', field) before any GPU work when the image cannot be decoded or is over the limits.
 */
export async function preprocessImage(
  input: ImageInput,
  vision: VisionConfig,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
  field = 'image',
): Promise<Float32Array> {
  const image = await decodeImage(input, limits, field);
  try {
    return normalise(resizeRgb(image, vision.image_size), vision.image_size, vision.image_mean, vision.image_std);
  } finally {
    if (!(image instanceof ImageData)) image.close();
  }
}
