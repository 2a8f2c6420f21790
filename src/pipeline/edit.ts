/**
 * @file Edit: input image + instruction → the reasoner thinks over both (CoT prompt with the image) → the painter
 * starts from the VAE-encoded image noised to the chosen strength (σ from 1 − strength to 1) → VAE → PNG.
 * Orchestration only; it shares imagine.ts's pipeline and differs by the image: decoded and checked on the CPU
 * first (BAD_INPUT on 'image'), resized to the vision encoder's size for the reasoner and to width × height for the
 * VAE encoder.
 */
import { RgError, badInput, toErrorInfo } from '../errors';
import type { EventSink } from './events';
import { decodeImage, type ImageInput } from '../models/reasoner';
import { normalise, resizeRgb } from '../models/reasoner/image';
import { vaeInputFromPixels } from '../models/painter';
import { resolvePaintSettings, runPaintPipeline, type ImagineDeps, type ImagineResult, type PaintRequestBase } from './imagine';
import { safeSink } from './events';

export interface EditRequest extends PaintRequestBase {
  instruction: string;
  /** The image to edit: an encoded file or raw RGBA pixels. Resized to width × height (default: the pack's). */
  image: ImageInput;
  /** How far from the input the edit may go: above 0 and at most 1 (default: the pack's `edit_strength`). */
  strength?: number;
}

export type EditResult = ImagineResult;

/** RGB bytes [H, W, 3] of `image` drawn at W × H (transparent areas on white; same size: pixel for pixel). */
function rgbAt(image: ImageBitmap | ImageData, W: number, H: number): Uint8Array {
  const canvas = new OffscreenCanvas(W, H);
  const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!ctx) throw new RgError('INTERNAL', 'OffscreenCanvas has no 2d context');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, H);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  if (image instanceof ImageData) {
    const src = new OffscreenCanvas(image.width, image.height);
    src.getContext('2d')!.putImageData(image, 0, 0);
    ctx.drawImage(src, 0, 0, W, H);
  } else {
    ctx.drawImage(image, 0, 0, W, H);
  }
  const rgba = ctx.getImageData(0, 0, W, H).data;
  const rgb = new Uint8Array(W * H * 3);
  for (let p = 0; p < W * H; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = rgba[p * 4 + c]!;
  return rgb;
}

/** Runs Edit; events and errors as Imagine's (imagine.ts). */
export async function edit(req: EditRequest, onEvent: EventSink | undefined, deps: ImagineDeps): Promise<EditResult> {
  const emit = safeSink(onEvent);
  try {
    if (typeof req?.instruction !== 'string' || req.instruction.trim().length === 0) {
      throw badInput('instruction', 'the instruction is empty');
    }
    if (req.image === undefined || req.image === null) throw badInput('image', 'an image to edit is required');
    const source = typeof deps.source === 'function' ? deps.source() : deps.source;
    const m = await source.manifest();
    const s = resolvePaintSettings(m, req, true);
    const t0 = performance.now();
    const decoded = await decodeImage(req.image, undefined, 'image');
    let pixelValues: Float32Array;
    let vaeInput: Float32Array;
    try {
      const S = m.reasoner.vision.image_size;
      pixelValues = normalise(resizeRgb(decoded, S), S, m.reasoner.vision.image_mean, m.reasoner.vision.image_std);
      vaeInput = vaeInputFromPixels(rgbAt(decoded, s.width, s.height), s.height, s.width, 3);
    } finally {
      if (!(decoded instanceof ImageData)) decoded.close();
    }
    const image = { pixelValues, vaeInput, strength: s.strength!, prepMs: performance.now() - t0 };
    return await runPaintPipeline(req, { text: req.instruction, field: 'instruction', image }, s, deps, source, emit, {
      instruction: req.instruction,
    });
  } catch (e) {
    emit({ type: 'error', error: toErrorInfo(e) });
    throw e;
  }
}
