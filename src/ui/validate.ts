/**
 * @file Validation of what the user types in the studio, as pure functions over the raw text of each field. The
 * views call them as the user types (so the message sits next to the control) and again before a run starts (so a
 * bad value never reaches the worker). Ranges come from the selected pack's manifest `limits` when known.
 */
import { MAX_GUIDANCE, MAX_IMAGE_BYTES, MAX_PROMPT_CHARS, MAX_SEED } from '../limits';

export type Check<T> = { ok: true; value: T } | { ok: false; error: string };

/** What the selected pack allows (manifest `limits`), plus the prompt length the reasoner accepts. */
export interface Limits {
  minSize: number;
  maxSize: number;
  sizeMultiple: number;
  maxSteps: number;
  maxPromptChars: number;
  /** The reasoner's context (`max_position_embeddings`): no run may ask for more new tokens. */
  maxNewTokens: number;
}

/** Used until the pack's manifest is read (and when it cannot be). */
export const DEFAULT_LIMITS: Limits = {
  minSize: 16,
  maxSize: 1024,
  sizeMultiple: 16,
  maxSteps: 200,
  maxPromptChars: MAX_PROMPT_CHARS,
  maxNewTokens: 4096,
};

export { MAX_SEED, MAX_GUIDANCE } from '../limits';
/** Image files the browser decodes for the reasoner and the VAE encoder. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/bmp'] as const;
export const MAX_IMAGE_FILE_BYTES = MAX_IMAGE_BYTES;

const ok = <T>(value: T): Check<T> => ({ ok: true, value });
const fail = <T>(error: string): Check<T> => ({ ok: false, error });

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A whole number written in plain digits (no exponent, no fraction); NaN otherwise. */
export function parseInteger(text: string): number {
  const t = text.trim();
  return INTEGER.test(t) ? Number(t) : NaN;
}

/** A finite decimal number (1, 1.5, .5, 3e-1); NaN for anything else ("NaN", "Infinity", "", "1,5"). */
export function parseDecimal(text: string): number {
  const t = text.trim();
  return DECIMAL.test(t) ? Number(t) : NaN;
}

function integerIn(text: string, what: string, min: number, max: number): Check<number> {
  if (text.trim() === '') return fail(`Enter the ${what}.`);
  const n = parseInteger(text);
  if (!Number.isSafeInteger(n)) return fail(`The ${what} must be a whole number, not “${text.trim().slice(0, 20)}”.`);
  if (n < min || n > max)
    return fail(`The ${what} must be from ${min} to ${max.toLocaleString('en-US')}; ${n} is out of range.`);
  return ok(n);
}

function decimalIn(text: string, what: string, min: number, max: number, exclusiveMin = false): Check<number> {
  if (text.trim() === '') return fail(`Enter the ${what}.`);
  const x = parseDecimal(text);
  if (!Number.isFinite(x)) return fail(`The ${what} must be a number, not “${text.trim().slice(0, 20)}”.`);
  if ((exclusiveMin ? x <= min : x < min) || x > max) {
    return fail(
      `The ${what} must be ${exclusiveMin ? 'above' : 'from'} ${min} ${exclusiveMin ? 'and at most' : 'to'} ${max}; ` +
        `${x} is out of range.`,
    );
  }
  return ok(x);
}

/** A prompt, question or instruction: not blank, not longer than the reasoner takes. */
export function validatePrompt(text: string, limits: Limits = DEFAULT_LIMITS, what = 'prompt'): Check<string> {
  if (text.trim() === '') return fail(`The ${what} is empty: type what you want.`);
  if (text.length > limits.maxPromptChars) {
    return fail(
      `The ${what} has ${text.length.toLocaleString('en-US')} characters; ` +
        `at most ${limits.maxPromptChars.toLocaleString('en-US')} are allowed.`,
    );
  }
  return ok(text);
}

/** Denoising steps: a whole number from 1 to the pack's `max_steps`. */
export function validateSteps(text: string, limits: Limits = DEFAULT_LIMITS): Check<number> {
  return integerIn(text, 'number of steps', 1, limits.maxSteps);
}

/** How many tokens the reasoner may write: a whole number from 1 to the model's context. */
export function validateMaxNewTokens(text: string, limits: Limits = DEFAULT_LIMITS): Check<number> {
  return integerIn(text, 'token limit', 1, limits.maxNewTokens);
}

/** Classifier-free guidance scale: a finite number from 0 to 30. */
export function validateGuidance(text: string): Check<number> {
  return decimalIn(text, 'guidance', 0, MAX_GUIDANCE);
}

/** A seed: a whole number from 0 to 2^32 − 1 (the noise kernel's 32-bit key). */
export function validateSeed(text: string): Check<number> {
  return integerIn(text, 'seed', 0, MAX_SEED);
}

/** An image side in pixels: a whole multiple of the pack's `size_multiple` within its min and max. */
export function validateSize(text: string, limits: Limits = DEFAULT_LIMITS, what = 'size'): Check<number> {
  const n = integerIn(text, what, limits.minSize, limits.maxSize);
  if (!n.ok) return n;
  if (n.value % limits.sizeMultiple !== 0) {
    const lo = Math.max(limits.minSize, Math.floor(n.value / limits.sizeMultiple) * limits.sizeMultiple);
    return fail(
      `The ${what} must be a multiple of ${limits.sizeMultiple} ` +
        `(try ${lo} or ${lo + limits.sizeMultiple}); ${n.value} is not.`,
    );
  }
  return n;
}

/** Edit strength: how far from the input image the edit may go, above 0 and at most 1. */
export function validateStrength(text: string): Check<number> {
  return decimalIn(text, 'strength', 0, 1, true);
}

/** A list of seeds for Compare: "42, 7 1234" → [42, 7, 1234]; each checked, duplicates refused, 1 to `max`. */
export function validateSeedList(text: string, max = 8): Check<number[]> {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (parts.length === 0) return fail('Enter at least one seed.');
  if (parts.length > max) return fail(`At most ${max} seeds per grid; ${parts.length} were given.`);
  const seeds: number[] = [];
  for (const p of parts) {
    const s = validateSeed(p);
    if (!s.ok) return s;
    if (seeds.includes(s.value)) return fail(`The seed ${s.value} is listed twice.`);
    seeds.push(s.value);
  }
  return ok(seeds);
}

/** What the image checks need of a File. */
export interface FileLike {
  name: string;
  type: string;
  size: number;
}

/** An image given by file picker, drop or paste: a type the browser decodes, not empty, not huge. */
export function validateImageFile(file: FileLike | null | undefined): Check<FileLike> {
  if (!file) return fail('Choose an image first (file picker, drag and drop, or paste).');
  const type = file.type.toLowerCase();
  if (!(IMAGE_TYPES as readonly string[]).includes(type)) {
    const what =
      type === 'application/pdf' || /\.pdf$/i.test(file.name)
        ? 'a PDF, not an image'
        : type
          ? `a file of type ${type}, not an image`
          : 'not a recognised image';
    return fail(`“${file.name}” is ${what}. Use a PNG, JPEG, WebP, GIF or BMP file.`);
  }
  if (file.size === 0) return fail(`“${file.name}” is empty.`);
  if (file.size > MAX_IMAGE_FILE_BYTES) {
    return fail(
      `“${file.name}” is ${(file.size / 2 ** 20).toFixed(1)} MiB; ` +
        `images up to ${MAX_IMAGE_FILE_BYTES / 2 ** 20} MiB are accepted.`,
    );
  }
  return ok(file);
}

/** A fresh random seed in [0, 2^32 − 1] from the browser's CSPRNG. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** The first error of several checks, keyed by field name; empty when every check passed. */
export function errorsOf(checks: Record<string, Check<unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, c] of Object.entries(checks)) if (!c.ok) out[k] = c.error;
  return out;
}
