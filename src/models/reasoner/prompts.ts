/**
 * @file The reasoner's prompts, exactly as docs/formats.md (and tools/rgvlm/config.py) quote them, and the chat
 * messages built from them. Every prompt is overridable per call, so researchers can compare chain-of-thought variants.
 */

// MindOmni's prompt texts are pack-format facts (the converter writes them into manifests): src/packs/prompts.ts.
import { INSTRUCTION_PREFIX, SYSTEM_PROMPT_COT, SYSTEM_PROMPT_PLAIN } from '../../packs/prompts';
export {
  INSTRUCTION_PREFIX,
  NEGATIVE_PROMPT_MINDOMNI,
  SYSTEM_PROMPT_COT,
  SYSTEM_PROMPT_PLAIN,
} from '../../packs/prompts';

/** A chat message as the Jinja chat template sees it (string content, or parts with an image placeholder). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ({ type: 'image' } | { type: 'text'; text: string })[];
}

/** The prompts of one request; anything left out takes the default above. */
export interface PromptOverrides {
  /** System prompt used when `cot` is true. */
  systemCot?: string;
  /** System prompt used when `cot` is false. */
  systemPlain?: string;
  /** Text placed before the user's prompt in the user turn. */
  userPrefix?: string;
}

export interface MessageOptions {
  /** The user's text (question or image description). */
  prompt: string;
  /** Chain of thought: the CoT system prompt instead of the plain one. */
  cot: boolean;
  /** Whether an image goes with the user turn (its placeholder comes first, then a newline). */
  image?: boolean;
  /** Per-call prompt overrides. */
  prompts?: PromptOverrides;
}

/** The system prompt a request uses. */
export function systemPrompt(cot: boolean, prompts: PromptOverrides = {}): string {
  return cot ? (prompts.systemCot ?? SYSTEM_PROMPT_COT) : (prompts.systemPlain ?? SYSTEM_PROMPT_PLAIN);
}

function messages(prefix: string, o: MessageOptions): ChatMessage[] {
  const text = prefix + o.prompt;
  const user: ChatMessage['content'] = o.image ? [{ type: 'image' }, { type: 'text', text: '\n' + text }] : text;
  return [
    { role: 'system', content: systemPrompt(o.cot, o.prompts) },
    { role: 'user', content: user },
  ];
}

/**
 * Messages of an image-generation request (Imagine, Edit): the system prompt, then a user turn of
 * `[<image>\n] + INSTRUCTION_PREFIX + prompt` (tools/rgvlm/pipeline.py `imagine_messages`).
 */
export function imagineMessages(o: MessageOptions): ChatMessage[] {
  return messages(o.prompts?.userPrefix ?? INSTRUCTION_PREFIX, o);
}

/**
 * Messages of an Understand request (image + question): the system prompt, then a user turn of
 * `[<image>\n] + prompt` (no instruction prefix unless `prompts.userPrefix` gives one).
 */
export function understandMessages(o: MessageOptions): ChatMessage[] {
  return messages(o.prompts?.userPrefix ?? '', o);
}

/**
 * Messages of the negative (CFG) branch, as MindOmni's app.py builds them: the plain system prompt and a user turn
 * of `INSTRUCTION_PREFIX` + the negative text (the instruction prefix as in `imagineMessages`, no chain of thought).
 * `instructionPrefix: false` (manifest `prompts.negative_instruction_prefix`, the shipped shapes pack): the
 * negative text alone, as in `understandMessages`.
 */
export function negativeMessages(
  negative: string,
  instructionPrefix: boolean,
  prompts?: PromptOverrides,
): ChatMessage[] {
  const o: MessageOptions = { prompt: negative, cot: false, prompts };
  return instructionPrefix ? imagineMessages(o) : understandMessages(o);
}
