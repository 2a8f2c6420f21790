/**
 * @file Imagine (reasoning generation): prompt → reasoner thinks (CoT on or off) → its hidden states condition the
 * painter → VAE → PNG with the prompt, seed and settings in tEXt chunks. Orchestration only: the prompt and every
 * setting are checked on the CPU first (BAD_INPUT with the field and the allowed range, before any GPU work), then
 * the shared paint pipeline runs (paint.ts, which Edit and RGPO use too).
 */
import { badInput } from '../errors';
import { safeSink, type EventSink } from './events';
import { packSource, reportingErrors } from './reason';
import type { PaintDeps, PaintRequestBase, PaintRunResult } from './paint';
import { resolvePaintSettings, runPaintPipeline } from './paint';

export type { PaintRequestBase, PaintSettings, PaintTimingsReport } from './paint';

export interface ImagineRequest extends PaintRequestBase {
  prompt: string;
}

export type ImagineResult = PaintRunResult;
export type ImagineDeps = PaintDeps;

/**
 * Runs Imagine. Events: `phase` loading → thinking/answering → painting → decoding → done, `token` deltas,
 * `progress` per step, `preview` frames, then `done`; on failure one `error` event and the promise rejects with the
 * same error (BAD_INPUT with its field before any GPU work, CANCELLED when `deps.signal` aborts).
 */
export async function imagine(
  req: ImagineRequest,
  onEvent: EventSink | undefined,
  deps: ImagineDeps,
): Promise<ImagineResult> {
  const emit = safeSink(onEvent);
  return reportingErrors(emit, async () => {
    if (typeof req?.prompt !== 'string' || req.prompt.trim().length === 0)
      throw badInput('prompt', 'the prompt is empty');
    const source = packSource(deps);
    const s = resolvePaintSettings(await source.manifest(), req, false);
    return runPaintPipeline(req, { text: req.prompt, field: 'prompt' }, s, deps, source, emit, { prompt: req.prompt });
  });
}
