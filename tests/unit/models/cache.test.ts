import { describe, expect, it } from 'vitest';
import { DeviceCache } from '../../../src/models/cache';
import { RunQueue } from '../../../src/models/serial';

const tick = () => new Promise((r) => setTimeout(r, 5));

/** A cached value that records its disposal. */
class Value {
  disposed = 0;
  constructor(readonly name: string) {}
  dispose() {
    this.disposed++;
  }
}

const devA = { label: 'a' } as unknown as GPUDevice;
const devB = { label: 'b' } as unknown as GPUDevice;

describe('DeviceCache: one device-scoped cache for models and what is computed with them', () => {
  it('loads a key once per device and shares it; another device loads again and disposes the old value', async () => {
    const cache = new DeviceCache<Value>();
    let loads = 0;
    const load = (name: string) => async () => (loads++, new Value(name));
    const a1 = cache.get('pack', { device: devA }, load('a1'));
    const a2 = cache.get('pack', { device: devA }, load('a2'));
    expect(a2).toBe(a1);
    const first = await a1;
    expect(first.name).toBe('a1');
    expect(cache.has('pack', { device: devA })).toBe(true);
    expect(cache.has('pack', { device: devB })).toBe(false);
    const b = await cache.get('pack', { device: devB }, load('b'));
    await tick();
    expect(b.name).toBe('b');
    expect(first.disposed).toBe(1);
    expect(loads).toBe(2);
    await cache.release();
    expect(b.disposed).toBe(1);
    expect(cache.has('pack', { device: devB })).toBe(false);
  });

  it('an owner scopes an entry: the same key with another owner is made again', async () => {
    const cache = new DeviceCache<Value>();
    const ownerA = {};
    const ownerB = {};
    const x = await cache.get('neg', { device: null, owner: ownerA }, async () => new Value('x'));
    expect(cache.has('neg', { device: null, owner: ownerA })).toBe(true);
    expect(cache.has('neg', { device: null })).toBe(false);
    const y = await cache.get('neg', { device: null, owner: ownerB }, async () => new Value('y'));
    await tick();
    expect(y.name).toBe('y');
    expect(x.disposed).toBe(1);
  });

  it('forgets a failed load, so the next call retries', async () => {
    const cache = new DeviceCache<Value>();
    const broken = cache.get('k', { device: null }, async () => Promise.reject(new Error('broken file')));
    await expect(broken).rejects.toThrow('broken file');
    expect(cache.has('k', { device: null })).toBe(false);
    const v = await cache.get('k', { device: null }, async () => new Value('ok'));
    expect(v.name).toBe('ok');
  });

  it('with a size limit disposes the least recently used entry', async () => {
    const cache = new DeviceCache<Value>(2);
    const a = await cache.get('a', { device: null }, async () => new Value('a'));
    const b = await cache.get('b', { device: null }, async () => new Value('b'));
    await cache.get('a', { device: null }, async () => new Value('a again')); // a is now the most recent
    const c = await cache.get('c', { device: null }, async () => new Value('c'));
    await tick();
    expect([a.disposed, b.disposed, c.disposed]).toEqual([0, 1, 0]);
    expect(cache.has('b', { device: null })).toBe(false);
    expect(cache.has('a', { device: null })).toBe(true);
  });

  it('a device loss disposes the GPU entries and keeps the CPU ones; delete can keep the value', async () => {
    const cache = new DeviceCache<Value>();
    const gpu = await cache.get('gpu', { device: devA }, async () => new Value('gpu'));
    const cpu = await cache.get('cpu', { device: null }, async () => new Value('cpu'));
    cache.releaseDevices();
    await tick();
    expect(gpu.disposed).toBe(1);
    expect(cpu.disposed).toBe(0);
    expect(cache.has('cpu', { device: null })).toBe(true);
    cache.delete('cpu', false);
    await tick();
    expect(cache.has('cpu', { device: null })).toBe(false);
    expect(cpu.disposed).toBe(0);
  });
});

describe('RunQueue: one run at a time on a model', () => {
  it('runs in order, failures included, and refuses runs after close', async () => {
    const q = new RunQueue('painter');
    let active = 0;
    let most = 0;
    const order: number[] = [];
    const run = (i: number) =>
      q.run(async () => {
        most = Math.max(most, ++active);
        await tick();
        order.push(i);
        active--;
        if (i === 1) throw new Error('run 1 failed');
        return `run ${i}`;
      });
    const settled = await Promise.allSettled([0, 1, 2].map(run));
    expect(order).toEqual([0, 1, 2]);
    expect(most).toBe(1);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const pending = run(3);
    const closing = q.close();
    await expect(pending).resolves.toBe('run 3');
    expect(await closing).toBe(true);
    expect(await q.close()).toBe(false);
    await expect(run(4)).rejects.toThrow('the painter was released');
  });
});
