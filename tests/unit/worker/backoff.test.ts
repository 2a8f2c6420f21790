import { describe, expect, it } from 'vitest';
import { restartDelay, WORKER_BACKOFF } from '../../../src/worker/backoff';

describe('worker restart backoff', () => {
  it('waits 1 s, 2 s, 4 s, 8 s after consecutive failures, then gives up', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => restartDelay(n));
    expect(delays).toEqual([1000, 2000, 4000, 8000, null, null]);
    expect(WORKER_BACKOFF.maxRestarts).toBe(4);
  });

  it('caps the delay and honours another policy', () => {
    const policy = { firstMs: 500, capMs: 3000, maxRestarts: 10 };
    expect([1, 2, 3, 4, 5, 10].map((n) => restartDelay(n, policy))).toEqual([500, 1000, 2000, 3000, 3000, 3000]);
    expect(restartDelay(11, policy)).toBeNull();
  });

  it('refuses a failure count that is not a positive integer', () => {
    expect(() => restartDelay(0)).toThrow(RangeError);
    expect(() => restartDelay(1.5)).toThrow(RangeError);
  });
});
