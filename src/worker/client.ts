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
import type { FolderFile } from '../store/pack_service';
import type { WeightVariant } from '../packs/manifest';
import { RgError } from '../errors';
import { restartDelay, WORKER_BACKOFF, type BackoffPolicy } from './backoff';

export type RgClient = Remote<RgApi>;

/** Called when the worker dies: the error to show and the delay before the restart (null: no restart). */
export type CrashListener = (e: RgError, restartInMs: number | null) => void;

/**
 * Owns one worker at a time and restarts it when it dies. Every call made through `api` is guarded: a worker that
 * crashes (or fails to load) rejects the calls in flight with WORKER_CRASHED instead of leaving them pending for
 * ever. Restarts back off (`restartDelay`: 1 s, 2 s, 4 s … capped); after `maxRestarts` consecutive failures with no
 * call answered in between the handle gives up, and every call rejects with one clear error until `restart()`.
 */
export class WorkerHandle {
  private worker: Worker | null = null;
  private remote: RgClient | null = null;
  private guarded: RgClient | null = null;
  private crashListeners = new Set<CrashListener>();
  /** Consecutive crashes with no call answered in between. */
  private failures = 0;
  /** No worker is spawned before this time (Date.now() milliseconds): the backoff after a crash. */
  private notBefore = 0;
  /** Set once the restarts are used up: every call rejects with it until `restart()`. */
  gaveUp: RgError | null = null;

  constructor(private readonly policy: BackoffPolicy = WORKER_BACKOFF) {}

  /** The typed client; the worker is spawned on the first call (after the backoff delay, following a crash). */
  get api(): RgClient {
    this.guarded ??= new Proxy(
      {},
      {
        get: (_target, prop) =>
          typeof prop === 'symbol' || prop === 'then' ? undefined : (...args: unknown[]) => this.invoke(prop, args),
      },
    ) as RgClient;
    return this.guarded;
  }

  private async invoke(method: string, args: unknown[]): Promise<unknown> {
    if (this.gaveUp) throw this.gaveUp;
    const wait = this.notBefore - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (this.gaveUp) throw this.gaveUp;
    if (!this.remote) this.spawn();
    const remote = this.remote as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const result = await this.unlessCrash(remote[method]!(...args));
    this.failures = 0;
    return result;
  }

  private spawn(): void {
    const worker = new Worker(new URL('./index.ts', import.meta.url), { type: 'module', name: 'rg-worker' });
    worker.addEventListener('error', (ev) => {
      ev.preventDefault();
      if (this.worker !== worker) return;
      this.dispose();
      this.failures++;
      const detail = ev.message || 'it failed to load';
      const delay = restartDelay(this.failures, this.policy);
      let err: RgError;
      if (delay === null) {
        err = this.gaveUp = new RgError(
          'WORKER_CRASHED',
          `The background worker stopped ${this.failures} times in a row and is no longer restarted ` +
            `(last: ${detail}).`,
          {
            hint:
              'Reload the page. If it keeps failing, the app’s files could not be loaded: check the connection, ' +
              'or clear this site’s data and reload.',
          },
        );
      } else {
        this.notBefore = Date.now() + delay;
        err = new RgError('WORKER_CRASHED', `The worker stopped: ${detail}`, {
          hint: `It restarts in ${delay / 1000} s; try again then.`,
        });
      }
      for (const l of this.crashListeners) l(err, delay);
    });
    this.worker = worker;
    this.remote = wrap<RgApi>(worker);
  }

  /** Subscribes to worker crashes; returns the unsubscribe function. */
  onCrash(listener: CrashListener): () => void {
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

  /** `RgApi.hubConvert`, with `onEvent` a plain function (proxied here). */
  hubConvert(
    repo: string,
    weights: WeightVariant,
    hub: string | undefined,
    onEvent: StoreEventSink,
    painter?: string,
    token?: string,
  ): Promise<PackStatus> {
    return this.api.hubConvert(repo, weights, hub, proxy(onEvent), painter, token);
  }

  /** `RgApi.packImport`, with `onEvent` a plain function (proxied here). */
  packImport(folder: string, files: FolderFile[], onEvent: StoreEventSink): Promise<PackStatus> {
    return this.api.packImport(folder, files, proxy(onEvent));
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

  /** Terminates the worker and starts afresh: the crash count, the backoff and a give-up are forgotten. */
  restart(): RgClient {
    this.dispose();
    this.failures = 0;
    this.notBefore = 0;
    this.gaveUp = null;
    return this.api;
  }
}
