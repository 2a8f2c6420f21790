/**
 * @file Turning a request into prompt token ids, on the CPU and before any GPU work, so bad input is refused while
 * nothing else has changed: the chat template (the pack's, or a custom one) renders the messages, each image
 * placeholder expands to one token per image feature, and the result must fit the reasoner's context.
 */
import { RgError } from '../../errors';
import type { ReasonerText } from './model';
import type { ChatMessage } from './prompts';
import { ChatTemplate, countOccurrences, expandImageTokens } from './template';

import { MAX_PROMPT_CHARS } from '../../limits';

/** The longest prompt text accepted before tokenising (a guard against pasting a book). */
export { MAX_PROMPT_CHARS };

export interface PromptRequest {
  messages: ChatMessage[];
  /** A Jinja chat template used instead of the pack's (researchers compare templates). */
  chatTemplate?: string;
  /** How many images go with the request (0 or 1 for the llava reasoner). */
  images: number;
  /** The field a too-long or empty prompt is reported on. Default 'prompt'. */
  promptField?: string;
  /** The user's own text, to tell a placeholder typed by the user from one the template misplaced. */
  userText?: string;
}

export interface PreparedPrompt {
  /** The rendered chat text (image placeholders not expanded). */
  text: string;
  /** The prompt token ids (image placeholders expanded). */
  ids: number[];
  /** [first position, count] of each image's run of image tokens. */
  imageSpans: [number, number][];
}

/** Renders and tokenises a request; throws RgError('BAD_INPUT', field) for anything the model cannot take. */
export function preparePrompt(model: ReasonerText, req: PromptRequest): PreparedPrompt {
  const cfg = model.config;
  const field = req.promptField ?? 'prompt';
  const template =
    req.chatTemplate !== undefined
      ? new ChatTemplate(req.chatTemplate, model.tokenizer.addedTokens, true, 'chatTemplate')
      : model.template;
  const text = template.render(req.messages);
  if (text.length > MAX_PROMPT_CHARS) {
    throw new RgError(
      'BAD_INPUT',
      `the prompt is ${text.length.toLocaleString('en')} characters; ` +
        `the limit is ${MAX_PROMPT_CHARS.toLocaleString('en')}`,
      { field },
    );
  }
  const placeholders = countOccurrences(text, cfg.image_token);
  if (placeholders !== req.images) {
    const typed = req.userText !== undefined && req.userText.includes(cfg.image_token);
    throw new RgError(
      'BAD_INPUT',
      typed
        ? `the prompt contains ${cfg.image_token}, which is reserved for the attached image; remove it`
        : `the chat template placed ${placeholders} image placeholder${placeholders === 1 ? '' : 's'} ` +
            `(${cfg.image_token}) for ${req.images} image${req.images === 1 ? '' : 's'}`,
      { field: typed ? field : req.chatTemplate !== undefined ? 'chatTemplate' : field },
    );
  }
  const ids = model.tokenizer.encode(expandImageTokens(text, cfg.image_token, cfg.num_image_tokens));
  const context = cfg.max_position_embeddings;
  if (ids.length > context) {
    const over = ids.length - context;
    throw new RgError(
      'BAD_INPUT',
      `the prompt is ${ids.length} tokens, ${over} more than the reasoner's context of ${context} tokens`,
      { field, hint: `Shorten the prompt by at least ${over} tokens (roughly ${Math.ceil(over * 3)} characters).` },
    );
  }
  const imageSpans: [number, number][] = [];
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== cfg.image_token_id) continue;
    let j = i;
    while (j < ids.length && ids[j] === cfg.image_token_id) j++;
    imageSpans.push([i, j - i]);
    i = j - 1;
  }
  const total = imageSpans.reduce((a, [, n]) => a + n, 0);
  if (total !== req.images * cfg.num_image_tokens) {
    throw new RgError(
      'BAD_INPUT',
      `the prompt has ${total} image tokens where ${req.images * cfg.num_image_tokens} were expected`,
      { field },
    );
  }
  return { text, ids, imageSpans };
}
