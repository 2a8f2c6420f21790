/**
 * @file Reading a completion: the format reward's regex and the reasoning / answer parts.
 */

/**
 * The RGPO format reward's pattern, `<think>.*?</think>\s*<answer>.*?</answer>` with DOTALL, applied as Python's
 * `re.match` (anchored at the start of the completion, as in R1-V, the reward MindOmni's RGPO follows).
 */
export const FORMAT_REGEX = /^<think>.*?<\/think>\s*<answer>.*?<\/answer>/s;

export interface ParsedCompletion {
  /** The text inside `<think>…</think>` (or before `</think>` when the opening tag is missing), trimmed. */
  reasoning: string;
  /** The text inside `<answer>…</answer>` (to the end when unclosed); without an answer tag, what follows
   * `</think>`, or the whole completion when it has no tags at all; trimmed. */
  answer: string;
  /** Whether FORMAT_REGEX matched (format reward 1). */
  formatOk: boolean;
}

/** Splits a completion (special tokens kept as their markers) into reasoning and answer. */
export function parseCompletion(text: string): ParsedCompletion {
  const formatOk = FORMAT_REGEX.test(text);
  const thinkEnd = text.indexOf('</think>');
  let reasoning = '';
  if (thinkEnd >= 0) {
    const open = text.lastIndexOf('<think>', thinkEnd);
    reasoning = text.slice(open >= 0 ? open + '<think>'.length : 0, thinkEnd);
  } else {
    const open = text.indexOf('<think>');
    if (open >= 0 && text.indexOf('<answer>') < 0) reasoning = text.slice(open + '<think>'.length);
  }
  const after = thinkEnd >= 0 ? thinkEnd + '</think>'.length : 0;
  const aOpen = text.indexOf('<answer>', after);
  let answer: string;
  if (aOpen >= 0) {
    const aClose = text.indexOf('</answer>', aOpen);
    answer = text.slice(aOpen + '<answer>'.length, aClose >= 0 ? aClose : undefined);
  } else if (thinkEnd >= 0) {
    answer = text.slice(after);
  } else {
    answer = text.includes('<think>') ? '' : text;
  }
  return { reasoning: reasoning.trim(), answer: answer.replace(/<\/answer>\s*$/, '').trim(), formatOk };
}
