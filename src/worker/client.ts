/**
 * @file The UI side of the worker: spawns it, wraps it with Comlink as `Remote<RgApi>`, and restarts it when it dies.
 */
import { wrap, proxy, type Remote } from 'comlink';
import './transfer';
import type { EventSink, RgApi } from './api';
import { RgError } from '../errors';

export type RgClient = Remote<RgApi>;

/** Owns one worker at a time; `restart()` replaces a crashed one. */
export class WorkerHandle {
  private worker: Worker | null = null;
  private remote: RgClient | null = null;
  private crashListeners = new Set<(e: RgError) => void>();

  /** The typed client; spawns the worker on first use. */
  get api(): RgClient {
    if (!this.remote) this.spawn();
    return this.remote!;
  }

  private spawn(): void {
    const worker = new Worker(new URL('./index.ts', import.meta.url), { type: 'module', name: 'rg-worker' });
    worker.addEventListener('error', (ev) => {
      ev.preventDefault();
      const err = new RgError('WORKER_CRASHED', `The worker stopped: ${ev.message || 'it failed to load'}`);
      this.dispose();
      for (const l of this.crashListeners) l(err);
    });
    this.worker = worker;
    this.remote = wrap<RgApi>(worker);
  }

  /** Subscribes to worker crashes; returns the unsubscribe function. */
  onCrash(listener: (e: RgError) => void): () => void {
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  /** Registers an event sink in the worker (wrapped in `proxy()` here so callers pass a plain function). */
  async subscribe(sink: EventSink): Promise<void> {
    await this.api.subscribe(proxy(sink));
  }

  /** Terminates the worker; the next `api` access starts a fresh one. */
  dispose(): void {
    this.worker?.terminate();
    this.worker = null;
    this.remote = null;
  }

  restart(): RgClient {
    this.dispose();
    return this.api;
  }
}
