// Through the worker (#17 items 4 and 10): a run whose pack must be fetched while another tab holds the pack's lock
// shows "another tab is downloading this pack" in its loading phase; cancel(runId) ends it at once with CANCELLED
// (the run's signal reaches the loader); a run started after the cancelled one starts at once (it does not queue
// behind a stuck one); the model manager's Load says the same and packCancel stops it; nothing is written.
// The worker uses the app's database; this test uses the `shapes` pack, which no other browser test loads there.
import { afterAll, describe, expect, it } from 'vitest';
import { proxy } from 'comlink';
import type { RgError } from '../../../src/errors';
import { WAITING_FOR_TAB } from '../../../src/store/cached_source';
import type { StoreEvent } from '../../../src/store/types';
import { DEFAULT_DB_NAME } from '../../../src/store/weights';
import type { RgEvent } from '../../../src/worker/api';
import { WorkerHandle } from '../../../src/worker/client';

const PACK = 'shapes';

describe('a run waiting on another tab', () => {
  const handle = new WorkerHandle();
  afterAll(() => handle.dispose());

  function understand(runId: string) {
    const events: RgEvent[] = [];
    const done = handle.api
      .understand(
        { runId, pack: PACK, prompt: 'hello', cot: false, maxNewTokens: 2 },
        proxy((e: RgEvent) => void events.push(e)),
      )
      .then(
        () => 'finished',
        (e: unknown) => (e as RgError).code,
      );
    const waiting = () => events.some((e) => e.type === 'phase' && e.detail === WAITING_FOR_TAB);
    return { done, waiting };
  }

  /** Settles with `p`, or 'stuck' after `ms`. */
  function within<T>(p: Promise<T>, ms: number): Promise<T | 'stuck'> {
    return Promise.race([p, new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), ms))]);
  }

  it('says so, cancels at once, and the next run starts at once', async () => {
    await handle.api.packDelete(PACK);
    let release!: () => void;
    await new Promise<void>((held) => {
      void navigator.locks.request(`rg-store:${DEFAULT_DB_NAME}:${PACK}`, () => {
        held();
        return new Promise<void>((r) => (release = r));
      });
    });
    try {
      const first = understand('wait-1');
      await expect.poll(first.waiting, { timeout: 20_000 }).toBe(true);
      await handle.api.cancel('wait-1');
      expect(await within(first.done, 2000)).toBe('CANCELLED');

      const t0 = performance.now();
      const second = understand('wait-2');
      await expect.poll(second.waiting, { timeout: 5000 }).toBe(true);
      expect(performance.now() - t0).toBeLessThan(5000);
      await handle.api.cancel('wait-2');
      expect(await within(second.done, 2000)).toBe('CANCELLED');

      const store: StoreEvent[] = [];
      const load = handle.api
        .packLoad(
          PACK,
          proxy((e: StoreEvent) => void store.push(e)),
        )
        .then(
          () => 'finished',
          (e: unknown) => (e as RgError).code,
        );
      await expect.poll(() => store.some((e) => e.type === 'waiting'), { timeout: 5000 }).toBe(true);
      expect(store.find((e) => e.type === 'waiting')).toEqual({
        type: 'waiting',
        packId: PACK,
        message: WAITING_FOR_TAB,
      });
      await handle.api.packCancel(PACK);
      expect(await within(load, 2000)).toBe('CANCELLED');
    } finally {
      release();
    }
    // Nothing of the pack's files was written while waiting.
    const status = (await handle.api.packList()).find((p) => p.id === PACK)!;
    expect(status.storedBytes).toBe(0);
    expect(status.files.every((f) => f.state === 'absent')).toBe(true);
  });
});
