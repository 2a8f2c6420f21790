/**
 * @file The reasoner: public surface and a per-pack, per-device cache of loaded models (pipelines share one;
 * src/models/cache.ts).
 */
import type { BackendChoice } from '../../runtime/backend';
import type { PackSource } from '../../packs/source';
import { DeviceCache } from '../cache';
import { ReasonerModel, type LoadOptions } from './model';

export { ReasonerModel, loadReasonerText, type ReasonerText } from './model';
export {
  generate,
  prefill,
  checkMaxNewTokens,
  ENGINE_AHEAD,
  type Completion,
  type GenerateOptions,
  type ReasonerPath,
  type GenerationResult,
  type GenerationTimings,
  type Phase,
  type StopReason,
  type TokenEvent,
} from './generate';
export type { HiddenStates } from './hidden';
export { preparePrompt, MAX_PROMPT_CHARS, type PreparedPrompt, type PromptRequest } from './prepare';
export {
  preprocessImage,
  decodeImage,
  MAX_IMAGE_BYTES,
  MAX_IMAGE_PIXELS,
  type ImageInput,
  type ImageLimits,
  type RgbaImage,
} from './image';
export { parseCompletion, FORMAT_REGEX, type ParsedCompletion } from './parse';
export * from './prompts';
export { resolveSampling, type SamplingOptions, type ResolvedSampling } from './sampling';

const cache = new DeviceCache<ReasonerModel>();

/**
 * The loaded reasoner of `source`'s pack on `choice`, loaded once and shared. A different device (after a device
 * loss) or backend loads it again and releases the old one; the reasoners of other packs are released first.
 */
export function getReasoner(source: PackSource, choice: BackendChoice, opts: LoadOptions = {}): Promise<ReasonerModel> {
  cache.retainPrefix(`${source.id}\u0000`);
  const key = `${source.id}\u0000${choice.backend}\u0000${opts.weights ?? ''}\u0000${opts.maxBindingBytes ?? ''}`;
  return cache.get(key, { device: choice.device ?? null }, () => ReasonerModel.load(source, choice, opts));
}

/** Releases every cached reasoner (tests, pack switch). */
export function releaseReasoners(): Promise<void> {
  return cache.release();
}
