/**
 * @file The numeric settings the studio's forms share (steps, guidance, seed, size, token budget…), as the specs
 * SettingsFields.svelte renders: one label, keyboard and hint per setting, whichever view shows it.
 */

/** One setting of a studio form: a text input (validated by the form's state) with its label. */
export interface SettingField<K extends string = string> {
  /** The form state's field (its value, its `errorFor`, its `touch`); the input's id is `${prefix}-${key}`. */
  key: K;
  label: string;
  /** The keyboard shown on phones: whole numbers or decimals. */
  mode: 'numeric' | 'decimal';
  /** A hint shown under the input and read with it (`${prefix}-${key}-help`). */
  help?: string;
  /** Draws a random value: a die button beside the input. */
  roll?: () => void;
  /** A narrow field (when it stands alone, not in a settings grid). */
  narrow?: boolean;
}

export const STEPS = { key: 'steps', label: 'Steps', mode: 'numeric' } as const satisfies SettingField;
export const GUIDANCE = { key: 'guidance', label: 'Guidance', mode: 'decimal' } as const satisfies SettingField;
export const SEED = { key: 'seed', label: 'Seed', mode: 'numeric' } as const satisfies SettingField;
export const WIDTH = { key: 'width', label: 'Width', mode: 'numeric' } as const satisfies SettingField;
export const HEIGHT = { key: 'height', label: 'Height', mode: 'numeric' } as const satisfies SettingField;
export const MAX_TOKENS = { key: 'maxNewTokens', label: 'Max tokens', mode: 'numeric' } as const satisfies SettingField;
export const STRENGTH = {
  key: 'strength',
  label: 'Strength',
  mode: 'decimal',
  help: 'above 0, at most 1',
} as const satisfies SettingField;

/** The seed with its die (`roll` draws a random seed into the form). */
export function seedWithDie(roll: () => void): SettingField<'seed'> {
  return { ...SEED, roll };
}
