/**
 * @file The token stream of one generation: text deltas of whole characters, each tagged with the phase it belongs
 * to. The phase starts as given (`thinking` for a chain-of-thought prompt) and moves to `answering` at `</think>`
 * or `<answer>` (back to `thinking` at `<think>`). Tag and stop tokens carry no text of their own: they end the
 * current run of text, which is flushed with them in the phase it was written in. A tag the tokenizer does not have
 * as a token (a null id in `special_tokens`, e.g. Qwen2.5's) is ordinary text: the stream finds it in the decoded
 * text, delivers that text in the phase it was written in, and changes phase after it.
 */
import type { SpecialTokens } from '../../packs/manifest';
import { StreamDecoder, type ReasonerTokenizer } from './tokenizer';

export type Phase = 'thinking' | 'answering';

export interface TokenEvent {
  /** The token id (-1 for text still held back when the stream ends). */
  id: number;
  /** Text that became final with this token (whole characters; may be empty, e.g. for a tag). */
  text: string;
  phase: Phase;
  /** 0-based index of the token among the generated ones. */
  index: number;
}

export class TokenStream {
  private readonly decoder: StreamDecoder;
  private readonly tags: Map<number, Phase>;
  /** The tags that are text, and the end of the decoded text kept to find one split across tokens. */
  private readonly textTags: [string, Phase][];
  private tail = '';
  private count = 0;
  phase: Phase;

  constructor(
    tokenizer: ReasonerTokenizer,
    special: SpecialTokens,
    private readonly stopIds: ReadonlySet<number>,
    initial: Phase,
    private readonly onToken?: (e: TokenEvent) => void,
    private readonly onPhase?: (p: Phase) => void,
  ) {
    this.decoder = new StreamDecoder(tokenizer);
    this.phase = initial;
    const all: [number | null, string, Phase][] = [
      [special.think_start, '<think>', 'thinking'],
      [special.think_end, '</think>', 'answering'],
      [special.answer_start, '<answer>', 'answering'],
      [special.answer_end, '</answer>', 'answering'],
    ];
    this.tags = new Map(all.flatMap(([id, , p]) => (id === null ? [] : [[id, p] as [number, Phase]])));
    this.textTags = all.flatMap(([id, text, p]) => (id === null ? [[text, p] as [string, Phase]] : []));
  }

  /** The phase after `text` (appended to what came before), by the last text tag that ends in it. */
  private textPhase(text: string): Phase | null {
    if (this.textTags.length === 0 || !text) return null;
    const seen = this.tail + text;
    let best: [number, Phase] | null = null;
    for (const [tag, p] of this.textTags) {
      // Only a tag that ends inside the new text counts (one ending in the tail was counted before).
      const at = seen.lastIndexOf(tag);
      if (at >= 0 && at + tag.length > this.tail.length && (!best || at > best[0])) best = [at, p];
    }
    this.tail = seen.slice(-16);
    return best ? best[1] : null;
  }

  /** Feeds the next generated token. */
  push(id: number): void {
    const index = this.count++;
    const tag = this.tags.get(id);
    if (tag !== undefined || this.stopIds.has(id)) {
      this.onToken?.({ id, text: this.decoder.flush(), phase: this.phase, index });
      if (tag !== undefined && tag !== this.phase) {
        this.phase = tag;
        this.onPhase?.(tag);
      }
    } else {
      const text = this.decoder.push(id);
      this.onToken?.({ id, text, phase: this.phase, index });
      const p = this.textPhase(text);
      if (p !== null && p !== this.phase) {
        this.phase = p;
        this.onPhase?.(p);
      }
    }
  }

  /** Ends the stream: text still held back (an unfinished character) is delivered. */
  finish(): void {
    const rest = this.decoder.flush();
    if (rest) this.onToken?.({ id: -1, text: rest, phase: this.phase, index: this.count - 1 });
  }
}
