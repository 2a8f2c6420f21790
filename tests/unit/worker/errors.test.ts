import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  DEFAULT_HINTS,
  fromErrorInfo,
  KernelArgError,
  RgError,
  toErrorInfo,
} from '../../../src/errors';

describe('errors across the worker boundary', () => {
  it('keep code, hint and field', () => {
    const e = new RgError('BAD_INPUT', 'steps must be 1..200, got 0', { field: 'steps', hint: 'Use 1 to 200 steps.' });
    const back = fromErrorInfo(structuredClone(toErrorInfo(e)));
    expect(back).toBeInstanceOf(RgError);
    expect([back.code, back.message, back.field, back.hint]).toEqual([
      'BAD_INPUT',
      'steps must be 1..200, got 0',
      'steps',
      'Use 1 to 200 steps.',
    ]);
  });

  it('turn unknown throwables into INTERNAL with the message kept', () => {
    expect(toErrorInfo(new TypeError('x is undefined'))).toMatchObject({
      code: 'INTERNAL',
      message: 'x is undefined',
      name: 'TypeError',
    });
    expect(toErrorInfo('plain string')).toMatchObject({ code: 'INTERNAL', message: 'plain string' });
  });

  it('name their kernel and carry a code', () => {
    expect(new KernelArgError('matmul', 'K mismatch').message).toBe('matmul: K mismatch');
    expect(new CancelledError().code).toBe('CANCELLED');
    for (const hint of Object.values(DEFAULT_HINTS)) expect(hint.length).toBeGreaterThan(10);
  });
});
