/**
 * @file MindOmni's prompt texts, exactly as docs/formats.md (and tools/rgvlm/config.py) quote them: the defaults every
 * request uses and what the converter writes into a converted pack's manifest. The messages built from them are
 * src/models/reasoner/prompts.ts.
 */

/** The MindOmni chain-of-thought system prompt. */
export const SYSTEM_PROMPT_COT =
  'You are a helpful assistant. When the user requests an image, the assistant first thinks about the ' +
  'reasoning process in the mind and then provides the user with concise prompt as the answer. The reasoning ' +
  'process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., ' +
  '<think> reasoning process here </think><answer> answer here </answer>.';

/** The system prompt without chain of thought. */
export const SYSTEM_PROMPT_PLAIN = 'You are a helpful assistant.';

/** The start of the user turn of an image-generation request (Imagine / Edit). */
export const INSTRUCTION_PREFIX = 'Generate an image according to the following instructions\n';

/** MindOmni's negative (CFG) prompt, app.py's `NEGATIVE_PROMPT` with its leading and trailing newline. */
export const NEGATIVE_PROMPT_MINDOMNI =
  '\nlow quality, jpeg artifacts, ugly, duplicate, morbid, mutilated, extra fingers, mutated hands, poorly drawn ' +
  'hands, poorly drawn face, mutation, deformed, blurry, dehydrated, bad anatomy, bad proportions, extra limbs, ' +
  'cloned face, disfigured, gross proportions, malformed limbs, missing arms, missing legs, extra arms, extra legs, ' +
  'fused fingers, too many fingers.\n';

/**
 * OmniGen's own wrapping of an instruction (OmniGenProcessor.add_prefix_instruction): what a `cascade` pack's painter
 * reads around the reasoner's answer (manifest `painter_text.template_prefix` / `template_suffix`).
 */
export const OMNIGEN_TEMPLATE_PREFIX = '<|user|>\nGenerate an image according to the following instructions\n';
export const OMNIGEN_TEMPLATE_SUFFIX = '<|end|>\n<|assistant|>\n<|diffusion|>';

/** OmniGen's default negative prompt (its processor's), the same words as MindOmni's without the newlines. */
export const NEGATIVE_PROMPT_OMNIGEN = NEGATIVE_PROMPT_MINDOMNI.trim();
