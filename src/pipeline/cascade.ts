/**
 * @file Cascade thinking (MindOmni's `cascade_thinking`, src/mindomni.py): after the first chain-of-thought pass, the
 * text it settled on is sent back through the reasoner as a new request (same system prompt with chain of thought,
 * same instruction prefix, same image, same sampling and token budget), and the SECOND pass's hidden states (its
 * prompt and every token it generated) condition the painter. What is sent back: the text after `<answer>` (up to
 * `</answer>` when closed), else the text inside `<think>…</think>`, else the whole completion; trimmed. MindOmni's
 * own answer pattern runs to the end of the completion, so a closing `</answer>` would travel with it; ours stops
 * there (the tag is markup, not part of the answer). When the text is empty there is no second pass and the first
 * pass's condition paints, as in MindOmni. Cascade needs chain of thought (MindOmni ignores it without; we refuse).
 */
import type { Completion } from '../models/reasoner';

/** Where the text sent to the second pass came from. */
export type CascadeSource = 'answer' | 'think' | 'text';

/** The text a first pass sends to the second, and where it came from; `text` is '' when there is nothing to send. */
export function cascadeText(completion: string): { text: string; source: CascadeSource } {
  const open = completion.indexOf('<answer>');
  if (open >= 0) {
    const rest = completion.slice(open + '<answer>'.length);
    const close = rest.indexOf('</answer>');
    return { text: (close >= 0 ? rest.slice(0, close) : rest).trim(), source: 'answer' };
  }
  const think = /<think>(.*?)<\/think>/s.exec(completion);
  if (think) return { text: think[1]!.trim(), source: 'think' };
  return { text: completion.trim(), source: 'text' };
}

/** A run's cascade record: what was sent back, from where, and what the second pass wrote (null: no second pass). */
export interface CascadeResult {
  /** The text sent to the second pass (the first pass's answer, else its thinking, else its whole text). */
  prompt: string;
  source: CascadeSource;
  /** The second pass's completion; null when `prompt` was empty (the first pass's condition painted). */
  second: Completion | null;
}
