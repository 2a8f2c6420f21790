/**
 * @file A pack's defaults, limits, prompts and input hints, resolved once from its (validated) manifest into the one
 * shape the studio's forms, the command line and the pipelines read: the UI fills its fields, placeholders and
 * examples and checks input against them, the pipelines fill a request's missing settings and check its ranges
 * against the same values. Pure, type-only imports, so the
 * UI bundle can use it without the schema library.
 */
import type { Manifest } from './manifest';

/** The settings a run uses when the request leaves them out (manifest `defaults` and `prompts.negative_prompt`). */
export interface PackDefaults {
  steps: number;
  guidance: number;
  width: number;
  height: number;
  seed: number;
  cot: boolean;
  maxNewTokens: number;
  editStrength: number;
  negativePrompt: string;
}

/** What a run may ask for (manifest `limits`, and the reasoner's context for new tokens). */
export interface PackLimits {
  minSize: number;
  maxSize: number;
  sizeMultiple: number;
  maxSteps: number;
  /** The reasoner's context (`max_position_embeddings`): no run may ask for more new tokens. */
  maxNewTokens: number;
}

/** The pack's system prompts and user-turn prefix (manifest `prompts`). */
export interface PackPrompts {
  systemCot: string;
  systemPlain: string;
  instructionPrefix: string;
}

/** What a view shows where the user types one kind of input: a placeholder and one-click examples. */
export interface InputHints {
  placeholder: string;
  /** Empty when the pack lists none. */
  examples: readonly string[];
}

/** The pack's hints per kind of input (manifest `examples` and `inputs`). */
export interface PackInputs {
  /** Text to image (Imagine, Compare, RGPO); `initial` is the prompt Compare starts from (first example, or ''). */
  prompt: InputHints & { initial: string };
  /** Edit's instruction. */
  instruction: InputHints;
  /** Understand's question. */
  question: InputHints;
}

/** The placeholders of a pack that names none: they describe the input, never a pack's world. */
export const GENERIC_PLACEHOLDERS = {
  prompt: 'Describe the image to make',
  instruction: 'Say what to change in the image',
  question: 'Ask something about the image',
} as const;

export interface ResolvedPack {
  id: string;
  name: string;
  defaults: PackDefaults;
  limits: PackLimits;
  prompts: PackPrompts;
  inputs: PackInputs;
}

/**
 * Resolves `m`'s defaults, limits, prompts and input hints (the one place the manifest's snake_case fields are read
 * for them).
 */
export function resolvePackDefaults(m: Manifest): ResolvedPack {
  const d = m.defaults;
  const l = m.limits;
  return {
    id: m.id,
    name: m.name,
    defaults: {
      steps: d.steps,
      guidance: d.guidance,
      width: d.width,
      height: d.height,
      seed: d.seed,
      cot: d.cot,
      maxNewTokens: d.max_new_tokens,
      editStrength: d.edit_strength,
      negativePrompt: m.prompts.negative_prompt,
    },
    limits: {
      minSize: l.min_size,
      maxSize: l.max_size,
      sizeMultiple: l.size_multiple,
      maxSteps: l.max_steps,
      maxNewTokens: m.reasoner.max_position_embeddings,
    },
    prompts: {
      systemCot: m.prompts.system_cot,
      systemPlain: m.prompts.system_plain,
      instructionPrefix: m.prompts.instruction_prefix,
    },
    inputs: resolveInputs(m),
  };
}

function resolveInputs(m: Manifest): PackInputs {
  const i = m.inputs;
  const prompts = m.examples ?? [];
  return {
    prompt: {
      placeholder: i?.prompt?.placeholder ?? GENERIC_PLACEHOLDERS.prompt,
      examples: prompts,
      initial: prompts[0] ?? '',
    },
    instruction: {
      placeholder: i?.instruction?.placeholder ?? GENERIC_PLACEHOLDERS.instruction,
      examples: i?.instruction?.examples ?? [],
    },
    question: {
      placeholder: i?.question?.placeholder ?? GENERIC_PLACEHOLDERS.question,
      examples: i?.question?.examples ?? [],
    },
  };
}
