// The reasoner benchmark's copy of its case (src/bench/reasoner_case.ts) against the PyTorch fixture it was taken
// from: when tools/make_tiny_random.py regenerates the pack and its fixtures, this says the copy is stale.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REASONER_BENCH_CASE } from '../../../src/bench/reasoner_case';
import { understandMessages } from '../../../src/models/reasoner/prompts';

interface GreedyCase {
  name: string;
  messages: { role: string; content: string }[];
  input_ids: number[];
  generated_ids: number[];
}

const fixtures = JSON.parse(readFileSync(new URL('../../fixtures/tiny-random/fixtures.json', import.meta.url), 'utf8'));
const plain = (fixtures.greedy as GreedyCase[]).find((g) => g.name === 'plain')!;

describe('the reasoner benchmark case', () => {
  it("is the fixture's plain greedy case: same messages, prompt ids and generated ids", () => {
    expect(plain).toBeDefined();
    expect(understandMessages({ prompt: REASONER_BENCH_CASE.question, cot: false })).toEqual(plain.messages);
    expect([...REASONER_BENCH_CASE.inputIds]).toEqual(plain.input_ids);
    expect(REASONER_BENCH_CASE.generatedIds.length).toBeGreaterThanOrEqual(16);
    const n = REASONER_BENCH_CASE.generatedIds.length;
    expect([...REASONER_BENCH_CASE.generatedIds]).toEqual(plain.generated_ids.slice(0, n));
  });
});
