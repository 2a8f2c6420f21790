/**
 * @file The token stream of one generation: text deltas of whole characters, each tagged with the phase it belongs
 * to. The phase starts as given (`thinking` for a chain-of-thought prompt) and moves to `answering` at `</think>`
 * or `<answer>` (back to `thinking` at `<think>`). Tag and stop tokens carry no text of their own: they end the
 * current run of text, which is flushed with them in the phase it was written in.
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
    this.tags = new Map<number, Phase>([
      [special.think_start, 'thinking'],
      [special.think_end, 'answering'],
      [special.answer_start, 'answering'],
      [special.answer_end, 'answering'],
    ]);
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
      this.onToken?.({ id, text: this.decoder.push(id), phase: this.phase, index });
    }
  }

  /** Ends the stream: text still held back (an unfinished character) is delivered. */
  finish(): void {
    const rest = this.decoder.flush();
    if (rest) this.onToken?.({ id: -1, text: rest, phase: this.phase, index: this.count - 1 });
  }
}
