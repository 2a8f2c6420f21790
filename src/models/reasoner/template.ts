/**
 * @file The chat template: the pack's Jinja `chat_template` (ChatML) rendered with @huggingface/jinja, or a custom
 * template given per call. A custom template is checked before anything runs: it must parse, render, place the
 * image placeholder once per image, and use only markers the tokenizer knows (an unknown `<|…|>` would silently
 * become a run of ordinary byte tokens).
 */
import { Template } from '@huggingface/jinja';
import { RgError } from '../../errors';
import type { ChatMessage } from './prompts';

/** `<|name|>` markers: the shape of ChatML-style special tokens. */
const MARKER = /<\|[^<>|\s]{1,64}\|>/g;

export class ChatTemplate {
  private readonly template: Template;

  /**
   * @param source Jinja source.
   * @param known Every added token's text (a rendered `<|…|>` outside this set is an error).
   * @param custom Whether the template comes from the caller (errors are then BAD_INPUT on `field`).
   */
  constructor(
    readonly source: string,
    private readonly known: ReadonlyMap<string, number>,
    private readonly custom = false,
    private readonly field = 'template',
  ) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw this.error(`the chat template does not parse: ${(e as Error).message}`, e);
    }
  }

  private error(message: string, cause?: unknown): RgError {
    return this.custom
      ? new RgError('BAD_INPUT', message, {
          field: this.field,
          cause,
          hint: 'Fix the custom chat template, or clear it to use the pack’s own.',
        })
      : new RgError('INTEGRITY', `the pack's ${message}`, { cause });
  }

  /** The prompt text for `messages`, ending with the assistant's generation prompt. */
  render(messages: ChatMessage[]): string {
    let text: string;
    try {
      text = this.template.render({ messages, add_generation_prompt: true });
    } catch (e) {
      throw this.error(`the chat template failed to render: ${(e as Error).message}`, e);
    }
    if (text.length === 0) throw this.error('the chat template rendered an empty prompt');
    const unknown = [...new Set(text.match(MARKER) ?? [])].filter((m) => !this.known.has(m));
    if (unknown.length) {
      throw this.error(
        `the chat template uses ${unknown.length === 1 ? 'a token' : 'tokens'} the tokenizer does not know: ` +
          unknown.join(', '),
      );
    }
    return text;
  }
}

/** The number of non-overlapping occurrences of `needle` in `text`. */
export function countOccurrences(text: string, needle: string): number {
  return needle ? text.split(needle).length - 1 : 0;
}

/** The llava processor's expansion: every image placeholder becomes `n` of them (one per image feature). */
export function expandImageTokens(text: string, imageToken: string, n: number): string {
  return text.split(imageToken).join(imageToken.repeat(n));
}
