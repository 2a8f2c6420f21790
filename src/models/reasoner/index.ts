/**
 * @file The reasoner: public surface and a per-pack, per-device cache of loaded models (pipelines share one).
 */
import type { BackendChoice } from '../../runtime/backend';
import type { PackSource } from '../../packs/source';
import { ReasonerModel, type LoadOptions } from './model';

export { ReasonerModel, loadReasonerText, type ReasonerText } from './model';
export { generate, prefill, ENGINE_AHEAD, type GenerateOptions, type ReasonerPath, type GenerationResult, type GenerationTimings, type Phase, type StopReason, type TokenEvent } from './generate';
export type { HiddenStates } from './hidden';
export { preparePrompt, MAX_PROMPT_CHARS, type PreparedPrompt, type PromptRequest } from './prepare';
export { preprocessImage, decodeImage, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, type ImageInput, type ImageLimits, type RgbaImage } from './image';
export { parseCompletion, FORMAT_REGEX, type ParsedCompletion } from './parse';
export * from './prompts';
export { resolveSampling, type SamplingOptions, type ResolvedSampling } from './sampling';

const cache = new Map<string, { device: GPUDevice | null; model: Promise<ReasonerModel> }>();

/**
 * The loaded reasoner of `source`'s pack on `choice`, loaded once and shared. A different device (after a device
 * loss) or backend loads it again and releases the old one.
 */
export function getReasoner(source: PackSource, choice: BackendChoice, opts: LoadOptions = {}): Promise<ReasonerModel> {
  const key = `${source.id}\u0000${choice.backend}`;
  const device = choice.device ?? null;
  const hit = cache.get(key);
  if (hit && hit.device === device) return hit.model;
  if (hit) void hit.model.then((m) => m.dispose()).catch(() => undefined);
  const model = ReasonerModel.load(source, choice, opts);
  cache.set(key, { device, model });
  model.catch(() => {
    if (cache.get(key)?.model === model) cache.delete(key);
  });
  return model;
}

/** Releases every cached reasoner (tests, pack switch). */
export async function releaseReasoners(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  await Promise.all(all.map((e) => e.model.then((m) => m.dispose()).catch(() => undefined)));
}
