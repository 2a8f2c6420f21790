/**
 * What cascade thinking sends to its second pass (src/pipeline/cascade.ts), as MindOmni's cascade_thinking picks it:
 * the answer, else the thinking, else the whole completion; trimmed; an empty result means no second pass.
 */
import { describe, expect, it } from 'vitest';
import { cascadeText } from '../../../src/pipeline/cascade';

describe('cascadeText', () => {
  it('the answer first (up to </answer>, or to the end when unclosed)', () => {
    expect(cascadeText('<think> 2 + 3 = 5 </think><answer> five red circles </answer>')).toEqual({
      text: 'five red circles',
      source: 'answer',
    });
    expect(cascadeText('<think>x</think><answer>five red circles')).toEqual({
      text: 'five red circles',
      source: 'answer',
    });
    expect(cascadeText('<answer>  </answer>')).toEqual({ text: '', source: 'answer' });
  });
  it('else the thinking (a closed <think> block), else the whole text', () => {
    expect(cascadeText('<think>\n2 + 3 = 5\n</think>')).toEqual({ text: '2 + 3 = 5', source: 'think' });
    expect(cascadeText('<think>unfinished')).toEqual({ text: '<think>unfinished', source: 'text' });
    expect(cascadeText('  five red circles \n')).toEqual({ text: 'five red circles', source: 'text' });
    expect(cascadeText('')).toEqual({ text: '', source: 'text' });
  });
});
