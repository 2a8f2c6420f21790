// @ts-check
// @file The prompts file of `rg compare`: JSON Lines, one object per line. Pure functions (unit-tested in Node); a
// malformed line is a UsageError naming the file and the line number, found before anything runs.
import { UsageError, settings, text } from './args.mjs';

/** Keys a line may carry; anything else is a mistake worth reporting (a typo would silently use the default). */
export const LINE_KEYS = [
  'name',
  'prompt',
  'cot',
  'cascade',
  'system',
  'seed',
  'steps',
  'guidance',
  'size',
  'width',
  'height',
  'max_new_tokens',
  'weights',
  'reasoner_weights',
];

/** A folder name: letters, digits, - _ . (no separator, so no path), and never `.` or `..` alone. */
const NAME = /^(?!\.+$)[\w.-]{1,64}$/;

/**
 * @typedef {import('./args.mjs').Settings} Settings
 * @typedef {{ line: number, name: string, prompt: string, settings: Settings }} CompareItem
 */

/**
 * Parses the prompts file. Blank lines are skipped; every other line must be a JSON object with a non-empty
 * `prompt`. Each item's settings are `defaults` overridden by the line's own. Folder names: the line's `name`, else
 * `NNN` (its 1-based position among the items, zero-padded); names must be unique.
 * @param {string} content the file's text
 * @param {string} file how to name the file in messages
 * @param {Settings} [defaults] settings from the command line
 * @returns {CompareItem[]}
 */
export function parsePromptsFile(content, file, defaults = {}) {
  /** @type {CompareItem[]} */
  const items = [];
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  /** @type {Map<string, number>} */
  const names = new Map();
  const raw = [];
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const src = lines[i].trim();
    if (src === '') continue;
    /** @type {unknown} */
    let v;
    try {
      v = JSON.parse(src);
    } catch (e) {
      throw new UsageError(`${where}: not valid JSON (${/** @type {Error} */ (e).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new UsageError(`${where}: each line must be a JSON object like {"prompt": "…"}`);
    const o = /** @type {Record<string, unknown>} */ (v);
    for (const k of Object.keys(o)) {
      if (!LINE_KEYS.includes(k))
        throw new UsageError(`${where}: unknown key ${JSON.stringify(k)} (allowed: ${LINE_KEYS.join(', ')})`);
    }
    if (!('prompt' in o)) throw new UsageError(`${where}: "prompt" is missing`);
    if (typeof o.prompt !== 'string') throw new UsageError(`${where}: "prompt" must be text`);
    const prompt = text(`${where}: "prompt"`, o.prompt);
    if (o.size !== undefined && (o.width !== undefined || o.height !== undefined))
      throw new UsageError(`${where}: give either "size" or "width"/"height", not both`);
    /** @type {Record<string, unknown>} */
    const f = { ...o };
    for (const k of ['seed', 'steps', 'guidance', 'max_new_tokens', 'width', 'height']) {
      // JSON numbers are checked as the same text a flag would carry (so 1.5 steps is refused, not truncated).
      if (typeof f[k] === 'number') f[k] = String(f[k]);
      else if (f[k] !== undefined)
        throw new UsageError(`${where}: "${k}" must be a number, got ${JSON.stringify(f[k])}`);
    }
    if (f.width !== undefined || f.height !== undefined) {
      if (f.width === undefined || f.height === undefined)
        throw new UsageError(`${where}: "width" and "height" go together`);
      f.size = `${f.width}x${f.height}`;
    }
    const s = settings(f, (n) => `${where}: "${n.replaceAll('-', '_')}"`);
    let name;
    if (o.name !== undefined) {
      if (typeof o.name !== 'string' || !NAME.test(o.name))
        throw new UsageError(
          `${where}: "name" must be 1 to 64 letters, digits, - _ . and not only dots (it names the folder), ` +
            `got ${JSON.stringify(o.name)}`,
        );
      name = o.name;
    }
    raw.push({ line: i + 1, name, prompt, settings: s });
  }
  if (raw.length === 0)
    throw new UsageError(`${file}: no prompts (one JSON object per line, e.g. {"prompt": "three red circles"})`);
  const width = String(raw.length).length < 3 ? 3 : String(raw.length).length;
  raw.forEach((r, k) => {
    const name = r.name ?? String(k + 1).padStart(width, '0');
    const seen = names.get(name);
    if (seen !== undefined)
      throw new UsageError(
        `${file}:${r.line}: the folder name ${JSON.stringify(name)} is already used by line ${seen}`,
      );
    names.set(name, r.line);
    items.push({ line: r.line, name, prompt: r.prompt, settings: { ...defaults, ...r.settings } });
  });
  return items;
}

/** One CSV field (RFC 4180: quoted when it holds a comma, quote or newline). @param {unknown} v */
export function csvField(v) {
  const s = v === undefined || v === null ? '' : typeof v === 'string' ? v : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** @param {string[]} columns @param {Record<string, unknown>[]} rows */
export function toCsv(columns, rows) {
  return [columns.join(','), ...rows.map((r) => columns.map((c) => csvField(r[c])).join(','))].join('\r\n') + '\r\n';
}
