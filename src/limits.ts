/**
 * @file The input limits every layer checks against: the studio's validation as you type (src/ui/validate.ts), the
 * pipelines before any GPU work, and the reasoner's prompt and image checks. Plain constants with no imports, so the
 * UI bundle can use them without pulling in onnxruntime-web. (The command line, plain Node ESM, states MAX_SEED
 * again in src/cli/args.mjs; tests/unit/cli/args.test.ts keeps the two equal.)
 */

/** Seeds are u32 (the Philox key). */
export const MAX_SEED = 2 ** 32 - 1;
/** Classifier-free guidance scale, 0 (no guidance) to this. */
export const MAX_GUIDANCE = 30;
/** Rollouts in one RGPO group. */
export const MAX_GROUP = 16;
/** Characters in a prompt or system prompt (the reasoner's context is the real limit; this stops absurd input). */
export const MAX_PROMPT_CHARS = 200_000;
/** Bytes of an input image file. */
export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;
/** Pixels of a decoded input image. */
export const MAX_IMAGE_PIXELS = 8192 * 4096;
/** Bytes of one PNG kept in run history (an output, or an input image once re-encoded to PNG). */
export const MAX_HISTORY_PNG_BYTES = 64 * 1024 * 1024;
