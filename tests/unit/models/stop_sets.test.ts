// Which ids end a generation and which stop rows are still condition rows (src/models/reasoner/stops.ts
// stopSets), for a pack whose </answer> is a token (tiny-random), one that skips its row (shapes), and one whose
// tags are text (null ids, as MindOmni's Qwen2.5 tokenizer): that one runs on to the end-of-sequence token.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stopSets } from '../../../src/models/reasoner/stops';
import { parseManifest } from '../../../src/packs/manifest';

const manifest = (name: string) =>
  parseManifest(
    JSON.parse(readFileSync(new URL(`../../../public/models/${name}/manifest.json`, import.meta.url), 'utf8')),
  );

describe('stopSets', () => {
  it('</answer> as a token stops the run and (MindOmni) keeps its row; the shapes pack drops the row', () => {
    const r = manifest('tiny-random').reasoner;
    const s = stopSets(r);
    expect([...s.stopIds].sort()).toEqual([...r.eos_token_ids, r.special_tokens.answer_end!].sort());
    expect([...s.rowStopIds]).toEqual([r.special_tokens.answer_end]);
    const shapes = manifest('shapes').reasoner;
    expect([...stopSets(shapes).rowStopIds]).toEqual([]);
  });

  it('</answer> as text (null id): only the end-of-sequence ids stop, no stop row', () => {
    const r = manifest('tiny-random').reasoner;
    const text = { ...r, special_tokens: { ...r.special_tokens, answer_end: null } };
    const s = stopSets(text);
    expect([...s.stopIds].sort()).toEqual([...r.eos_token_ids].sort());
    expect([...s.rowStopIds]).toEqual([]);
  });

  it("the caller's own sets win", () => {
    const r = manifest('tiny-random').reasoner;
    const s = stopSets(r, { stopIds: [7], rowStopIds: [] });
    expect([...s.stopIds]).toEqual([7]);
    expect([...s.rowStopIds]).toEqual([]);
  });
});
