/**
 * @file Whether the reasoner declined the request, decided from the pack: its manifest names the answer that means
 * "I cannot draw that" (`refusal.answer_prefix`); a pack without it never declines. The painter still runs (its
 * picture of a refusal is defined by the pack: a world v2 shapes pack paints the empty canvas), so every consumer of
 * a painted result keeps its PNG; the result's `refusal` tells the studio to show the text instead.
 */
import type { Manifest } from '../packs/manifest';

/** The answer when it is the pack's refusal, else null. `answer` is the parsed completion's (trimmed). */
export function refusalOf(manifest: Pick<Manifest, 'refusal'>, answer: string): string | null {
  const prefix = manifest.refusal?.answer_prefix;
  return prefix && answer.startsWith(prefix) ? answer : null;
}
