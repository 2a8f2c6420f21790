/**
 * @file One device-scoped cache for what is expensive to make and lives on the GPU device: loaded models (the
 * reasoner, the painter, the similarity scorer) and values computed with them (the negative condition). An entry
 * is keyed by what it is (pack, backend, variant…) and belongs to the device it was made on, and optionally to an
 * owner (the model it was computed with). Asking again with another device or owner makes it again and disposes the
 * old value; a device loss disposes every GPU entry at once; a failed load is forgotten, so the next call retries.
 * With a size limit the least recently used entries are disposed first.
 */
import { onDeviceLost } from '../gpu/device';

/** What a cached value must offer: a way to free it (sync or async; errors are swallowed). */
export interface Disposable {
  dispose(): unknown;
}

/** Where a value was made: the device (null for WASM / CPU) and, when it was computed with one, its owner. */
export interface CacheScope {
  device: GPUDevice | null;
  owner?: object;
}

interface Entry<V> {
  device: GPUDevice | null;
  owner: object | undefined;
  value: Promise<V>;
}

const caches = new Set<DeviceCache<Disposable>>();

// Values on a lost device are useless: free them now rather than on the next request (CPU entries stay).
onDeviceLost(() => {
  for (const c of caches) c.releaseDevices();
});

function disposeLater<V extends Disposable>(value: Promise<V>): Promise<void> {
  return value
    .then((v) => v.dispose())
    .then(
      () => undefined,
      () => undefined,
    );
}

/** A keyed cache of values that belong to a device (see the file comment). */
export class DeviceCache<V extends Disposable> {
  private readonly entries = new Map<string, Entry<V>>();

  /** `max`: how many entries to keep (least recently used disposed first); default unlimited. */
  constructor(private readonly max = Infinity) {
    caches.add(this as DeviceCache<Disposable>);
  }

  /** Whether `key` is cached for `scope` (made, or being made, on that device by that owner). */
  has(key: string, scope: CacheScope): boolean {
    const hit = this.entries.get(key);
    return !!hit && hit.device === scope.device && hit.owner === scope.owner;
  }

  /**
   * The value of `key` in `scope`, made by `load` once and shared. A different device or owner makes it again and
   * disposes the old value; a rejected load is forgotten.
   */
  get(key: string, scope: CacheScope, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.device === scope.device && hit.owner === scope.owner) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    if (hit) void disposeLater(hit.value);
    const value = load();
    this.entries.set(key, { device: scope.device, owner: scope.owner, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    while (this.entries.size > this.max) {
      const [k, v] = this.entries.entries().next().value!;
      this.entries.delete(k);
      void disposeLater(v.value);
    }
    return value;
  }

  /** Forgets `key` and disposes its value (when `dispose`, the default). */
  delete(key: string, dispose = true): void {
    const hit = this.entries.get(key);
    if (!hit) return;
    this.entries.delete(key);
    if (dispose) void disposeLater(hit.value);
  }

  /**
   * Disposes every entry whose key does not start with `prefix` (a pack switch: the engines of packs no longer
   * selected are released before the selected one loads, so two packs' weights never sit on the device together).
   */
  retainPrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) {
      if (!k.startsWith(prefix)) this.delete(k);
    }
  }

  /** Disposes the entries made on a GPU device (after a device loss). */
  releaseDevices(): void {
    for (const [k, e] of [...this.entries]) {
      if (e.device) this.delete(k);
    }
  }

  /** Disposes every entry (tests, pack switch); resolves when all are freed. */
  async release(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => disposeLater(e.value)));
  }
}
