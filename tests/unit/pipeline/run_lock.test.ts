import { describe, expect, it } from 'vitest';
import { exclusive } from '../../../src/pipeline/events';
import { CancelledError } from '../../../src/errors';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('exclusive: one run at a time on the worker', () => {
  it('runs later runs only after earlier ones settle, in order, failures included', async () => {
    const log: string[] = [];
    const run = (name: string, fail = false) =>
      exclusive(new AbortController().signal, async () => {
        log.push(`${name} start`);
        await tick();
        log.push(`${name} end`);
        if (fail) throw new Error(`${name} failed`);
        return name;
      });
    const results = await Promise.allSettled([run('a'), run('b', true), run('c')]);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('a run cancelled while waiting rejects at once, never starts, and does not hold up the next', async () => {
    const log: string[] = [];
    let finishFirst!: () => void;
    const first = exclusive(new AbortController().signal, () =>
      new Promise<void>((r) => (finishFirst = r)).then(() => log.push('first')),
    );
    const c = new AbortController();
    const second = exclusive(c.signal, async () => log.push('second'));
    const third = exclusive(new AbortController().signal, async () => log.push('third'));
    await tick();
    c.abort();
    await expect(second).rejects.toBeInstanceOf(CancelledError);
    expect(log).toEqual([]);
    finishFirst();
    await Promise.all([first, third]);
    expect(log).toEqual(['first', 'third']);
  });

  it('an already-aborted signal rejects without running', async () => {
    const c = new AbortController();
    c.abort();
    let ran = false;
    await expect(exclusive(c.signal, async () => (ran = true))).rejects.toBeInstanceOf(CancelledError);
    expect(ran).toBe(false);
  });
});
