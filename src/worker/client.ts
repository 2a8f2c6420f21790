/**
 * @file The UI side of the worker: spawns it, wraps it with Comlink as `Remote<RgApi>`, and restarts it when it dies.
 * The only module of the page that touches Comlink: calls that stream events take plain functions here and proxy
 * them, so the UI never imports `comlink`.
 */
import { wrap, proxy, type Remote } from 'comlink';
import './transfer';
import type { EventSink, RgApi } from './api';
import type { UnderstandRequest, UnderstandResult } from '../pipeline/understand';
import type { ImagineRequest, ImagineResult } from '../pipeline/imagine';
import type { EditRequest, EditResult } from '../pipeline/edit';
import type { RgpoEventSink, RgpoRequest, RgpoResult } from '../pipeline/rgpo/run';
import type { PackReady, PackStatus, StoreEventSink, VerifyReport } from '../store/types';
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

  /**
   * Settles with `call`, or rejects with the crash error if the worker dies first (a call to a dead worker would
   * otherwise never settle, and the view would wait for ever).
   */
  unlessCrash<T>(call: Promise<T>): Promise<T> {
    let off = () => {};
    const crashed = new Promise<never>((_, reject) => {
      off = this.onCrash(reject) as () => void;
    });
    return Promise.race([call, crashed]).finally(off);
  }

  /** Registers an event sink in the worker (wrapped in `proxy()` here so callers pass a plain function). */
  async subscribe(sink: EventSink): Promise<void> {
    await this.api.subscribe(proxy(sink));
  }

  /** `RgApi.understand`, with `onEvent` a plain function (proxied here). */
  understand(request: UnderstandRequest, onEvent: EventSink): Promise<UnderstandResult> {
    return this.api.understand(request, proxy(onEvent));
  }

  /** `RgApi.imagine`, with `onEvent` a plain function (proxied here); the PNG comes back transferred. */
  imagine(request: ImagineRequest, onEvent: EventSink): Promise<ImagineResult> {
    return this.api.imagine(request, proxy(onEvent));
  }

  /** `RgApi.edit`, with `onEvent` a plain function (proxied here). */
  edit(request: EditRequest, onEvent: EventSink): Promise<EditResult> {
    return this.api.edit(request, proxy(onEvent));
  }

  /** `RgApi.rgpo`, with `onEvent` a plain function (proxied here). */
  rgpo(request: RgpoRequest, onEvent: RgpoEventSink): Promise<RgpoResult> {
    return this.api.rgpo(request, proxy(onEvent));
  }

  /** `RgApi.packDownload`, with `onEvent` a plain function (proxied here). */
  packDownload(id: string, onEvent: StoreEventSink): Promise<PackStatus> {
    return this.api.packDownload(id, proxy(onEvent));
  }

  /** `RgApi.packVerify`, with `onEvent` a plain function (proxied here). */
  packVerify(id: string, onEvent: StoreEventSink): Promise<VerifyReport> {
    return this.api.packVerify(id, proxy(onEvent));
  }

  /** `RgApi.packLoad`, with `onEvent` a plain function (proxied here). */
  packLoad(id: string, onEvent: StoreEventSink): Promise<PackReady> {
    return this.api.packLoad(id, proxy(onEvent));
  }

  /** Terminates the worker; the next `api` access starts a fresh one. */
  dispose(): void {
    this.worker?.terminate();
    this.worker = null;
    this.remote = null;
  }

  /** Terminates the worker and starts a fresh one. */
  restart(): RgClient {
    this.dispose();
    return this.api;
  }
}
