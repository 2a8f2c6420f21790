/**
 * @file Edit: input image + instruction → the reasoner thinks over both (CoT prompt with the image) → the painter
 * starts from the VAE-encoded image noised to the chosen strength (σ from 1 − strength to 1) → VAE → PNG.
 * Orchestration only; it shares paint.ts's pipeline and differs by the image: decoded and checked on the CPU
 * first (BAD_INPUT on 'image'), resized to the vision encoder's size for the reasoner and to width × height for the
 * VAE encoder.
 */
import { badInput } from '../errors';
import { requireVision } from '../packs/manifest';
import type { EventSink } from './events';
import { decodeImage, type ImageInput } from '../models/reasoner';
import { normalise, resizeRgb } from '../models/reasoner/image';
import { vaeInputFromPixels } from '../models/painter';
import type { PaintDeps, PaintRequestBase, PaintRunResult } from './paint';
import { resolvePaintSettings, runPaintPipeline } from './paint';
import { safeSink } from './events';
import { packSource, reportingErrors } from './reason';

export interface EditRequest extends PaintRequestBase {
  instruction: string;
  /** The image to edit: an encoded file or raw RGBA pixels. Resized to width × height (default: the pack's). */
  image: ImageInput;
  /** How far from the input the edit may go: above 0 and at most 1 (default: the pack's `edit_strength`). */
  strength?: number;
}

export type EditResult = PaintRunResult;

/** Runs Edit; events and errors as Imagine's (imagine.ts). */
export async function edit(req: EditRequest, onEvent: EventSink | undefined, deps: PaintDeps): Promise<EditResult> {
  const emit = safeSink(onEvent);
  return reportingErrors(emit, async () => {
    if (typeof req?.instruction !== 'string' || req.instruction.trim().length === 0) {
      throw badInput('instruction', 'the instruction is empty');
    }
    if (req.image === undefined || req.image === null) throw badInput('image', 'an image to edit is required');
    const source = packSource(deps);
    const m = await source.manifest();
    const vision = requireVision(m.reasoner, m.id);
    const s = resolvePaintSettings(m, req, true);
    const t0 = performance.now();
    const decoded = await decodeImage(req.image, undefined, 'image');
    let pixelValues: Float32Array;
    let vaeInput: Float32Array;
    try {
      const S = vision.image_size;
      pixelValues = normalise(resizeRgb(decoded, S), S, vision.image_mean, vision.image_std);
      vaeInput = vaeInputFromPixels(resizeRgb(decoded, s.width, s.height), s.height, s.width, 3);
    } finally {
      if (!(decoded instanceof ImageData)) decoded.close();
    }
    const image = { pixelValues, vaeInput, strength: s.strength!, prepMs: performance.now() - t0 };
    return runPaintPipeline(req, { text: req.instruction, field: 'instruction', image }, s, deps, source, emit, {
      instruction: req.instruction,
    });
  });
}
