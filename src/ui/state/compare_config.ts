/**
 * @file Compare's configuration as plain data: K variants × S seeds. It travels in the URL hash (a shareable link
 * carries it, never the images) and is validated on the way in, so a hand-edited link is refused with a message.
 */
import { z } from 'zod';

export const MAX_VARIANTS = 6;
export const MAX_SEEDS = 8;

const text = z.string().max(20_000);
const numText = z.string().max(32);

export const VariantSchema = z.strictObject({
  label: z.string().max(64),
  prompt: text,
  cot: z.boolean(),
  /** Cascade thinking (only with `cot`); absent in older links: off. */
  cascade: z.boolean().optional(),
  systemPrompt: text,
  /** The start of the user turn; absent: the pack's instruction prefix. */
  userPrefix: text.optional(),
  steps: numText,
  guidance: numText,
  width: numText,
  height: numText,
  maxNewTokens: numText.optional(),
});
export type VariantConfig = z.infer<typeof VariantSchema>;

export const CompareConfigSchema = z.strictObject({
  v: z.literal(1),
  variants: z.array(VariantSchema).min(1).max(MAX_VARIANTS),
  seeds: numText.max(200),
  /** The grid's id: its finished cells are saved in history under it, so a reload finds them again. */
  grid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
});
export type CompareConfig = z.infer<typeof CompareConfigSchema>;

function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** The configuration as a URL-safe string (base64url of its JSON). */
export function encodeConfig(c: CompareConfig): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(c)));
}

/** The configuration of a link, or an error saying why the link is refused. */
export function decodeConfig(s: string): { ok: true; value: CompareConfig } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64Url(s)));
  } catch {
    return {
      ok: false,
      error: 'This link’s grid configuration is damaged (not readable); the default grid is shown instead.',
    };
  }
  const r = CompareConfigSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    return {
      ok: false,
      error:
        'This link’s grid configuration is not valid ' +
        `(${i ? `${i.path.join('.') || 'root'}: ${i.message}` : 'unknown'}); the default grid is shown instead.`,
    };
  }
  return { ok: true, value: r.data };
}
