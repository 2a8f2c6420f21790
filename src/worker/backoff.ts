/**
 * @file When to restart a worker that crashed or could not load: after 1 s, 2 s, 4 s … (doubling, capped), and not
 * at all after a few failures in a row, so a worker script that cannot load gives one clear error instead of a loop.
 * Plain numbers, no imports: the schedule is unit-tested on its own.
 */

export interface BackoffPolicy {
  /** Delay before the first restart, in milliseconds. */
  firstMs: number;
  /** The longest delay between two restarts, in milliseconds. */
  capMs: number;
  /** Restarts allowed after consecutive failures; the failure after the last one gives up. */
  maxRestarts: number;
}

export const WORKER_BACKOFF: BackoffPolicy = { firstMs: 1000, capMs: 8000, maxRestarts: 4 };

/**
 * The delay before restarting after the `failures`-th consecutive failure (1 for the first), or null when the
 * failures have used up the restarts and the app should stop and say so.
 */
export function restartDelay(failures: number, policy: BackoffPolicy = WORKER_BACKOFF): number | null {
  if (!Number.isInteger(failures) || failures < 1) throw new RangeError(`failures must be an integer >= 1`);
  if (failures > policy.maxRestarts) return null;
  return Math.min(policy.capMs, policy.firstMs * 2 ** (failures - 1));
}
