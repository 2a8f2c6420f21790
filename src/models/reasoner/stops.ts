/** @file Which token ids end a generation, and which of them still give a condition row (pure: no GPU). */
import type { ReasonerConfig } from '../../packs/manifest';

/**
 * The ids that end a generation (`stopIds`: the end-of-sequence ids and `</answer>`) and those whose own row is
 * still computed as a condition row (`rowStopIds`: `</answer>` when the pack says so), unless the caller gives its
 * own. A `</answer>` that is text (a null id) stops nothing: generation runs on to the end-of-sequence token, as
 * MindOmni's does.
 */
export function stopSets(
  cfg: ReasonerConfig,
  opts: { stopIds?: readonly number[]; rowStopIds?: readonly number[] } = {},
): { stopIds: Set<number>; rowStopIds: Set<number> } {
  const answerEnd = cfg.special_tokens.answer_end === null ? [] : [cfg.special_tokens.answer_end];
  return {
    stopIds: new Set(opts.stopIds ?? [...cfg.eos_token_ids, ...answerEnd]),
    rowStopIds: new Set(opts.rowStopIds ?? (cfg.condition_answer_end_row ? answerEnd : [])),
  };
}
