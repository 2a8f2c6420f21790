/**
 * @file A pack's defaults, limits and prompts, resolved once from its (validated) manifest into the one shape both
 * the studio's forms and the pipelines read: the UI fills its fields and checks input against them, the pipelines
 * fill a request's missing settings and check its ranges against the same values. Pure, type-only imports, so the
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

export interface ResolvedPack {
  id: string;
  name: string;
  defaults: PackDefaults;
  limits: PackLimits;
  prompts: PackPrompts;
  /** The manifest's example prompts, or null when it lists none. */
  examples: readonly string[] | null;
}

/** Resolves `m`'s defaults, limits and prompts (the one place the manifest's snake_case fields are read for them). */
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
    examples: m.examples ?? null,
  };
}
