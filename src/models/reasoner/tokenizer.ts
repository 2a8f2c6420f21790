/**
 * @file The reasoner's tokenizer: a Hugging Face `tokenizer.json` run by @huggingface/tokenizers, plus the pack's
 * special-token ids and a streaming decoder that never splits a multi-byte character across two text deltas.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { ReasonerConfig, SpecialTokens } from '../../packs/manifest';

export class ReasonerTokenizer {
  private readonly tok: Tokenizer;
  /** Every added token's text → id (special markers such as `<|im_start|>`, `<think>`, `<image>`). */
  readonly addedTokens: ReadonlyMap<string, number>;
  readonly special: SpecialTokens;

  constructor(tokenizerJson: unknown, tokenizerConfig: unknown, cfg: ReasonerConfig) {
    this.tok = new Tokenizer(tokenizerJson as object, tokenizerConfig as object);
    const added = new Map<string, number>();
    for (const [id, t] of this.tok.get_added_tokens_decoder()) added.set(t.content, id);
    this.addedTokens = added;
    this.special = cfg.special_tokens;
  }

  /** Token ids of `text`, special markers recognised, nothing added around it. */
  encode(text: string): number[] {
    return text.length === 0 ? [] : this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** The text of `ids` (special tokens kept as their markers unless `skipSpecial`). */
  decode(ids: readonly number[], skipSpecial = false): string {
    if (ids.length === 0) return '';
    return this.tok.decode(ids as number[], { skip_special_tokens: skipSpecial, clean_up_tokenization_spaces: false });
  }
}

/**
 * Turns a stream of token ids into text deltas. It decodes the ids seen since the last flush and holds the text
 * back while it ends in U+FFFD (a character whose bytes are split across tokens), so every delta is whole
 * characters; `flush()` gives whatever is left at the end (an invalid sequence stays U+FFFD, as in the full decode).
 */
export class StreamDecoder {
  private pending: number[] = [];

  constructor(private readonly tok: ReasonerTokenizer) {}

  /** Adds one token; returns the text that became final (possibly empty). */
  push(id: number): string {
    this.pending.push(id);
    const text = this.tok.decode(this.pending, true);
    if (text.endsWith('\uFFFD') && this.pending.length < 8) return '';
    this.pending = [];
    return text;
  }

  /** The text still held back. */
  flush(): string {
    const text = this.tok.decode(this.pending, true);
    this.pending = [];
    return text;
  }
}
