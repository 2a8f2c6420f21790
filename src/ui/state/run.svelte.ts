import type { RgEvent } from '../../worker/api';
import type { WorkerHandle } from '../../worker/client';
import { DEFAULT_HINTS, toErrorInfo, type ErrorInfo } from '../../errors';

export type RunPhase = 'idle' | 'loading' | 'thinking' | 'answering' | 'painting' | 'decoding' | 'done' | 'cancelled' | 'failed';

export interface RunPreview {
  step: number;
  total: number;
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

/** A problem shown next to the control it concerns (field) or next to the run button (no field). */
export interface UiError {
  code: string;
  message: string;
  hint: string;
  field?: string;
}

export function uiError(e: unknown): UiError {
  const info: ErrorInfo = toErrorInfo(e);
  return { code: info.code, message: info.message, hint: info.hint ?? DEFAULT_HINTS[info.code], field: info.field };
}

/**
 * Settles with `call`, or rejects with the crash error if the worker dies first (a call to a dead worker would
 * otherwise never settle, and the view would wait for ever).
 */
export function unlessCrash<T>(worker: WorkerHandle, call: Promise<T>): Promise<T> {
  let off = () => {};
  const crashed = new Promise<never>((_, reject) => {
    off = worker.onCrash(reject) as () => void;
  });
  return Promise.race([call, crashed]).finally(off);
}

/** A fresh id for `cancel(runId)`. */
export function newRunId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

/**
 * One streamed run as the views show it: phase, reasoning (thinking apart from the answer), progress with an ETA
 * and the latest step preview. Fed by the worker's events through `handle`; text stays text (views never use
 * {@html}).
 */
export class RunStream {
  runId = $state<string | null>(null);
  phase = $state<RunPhase>('idle');
  detail = $state('');
  thinking = $state('');
  answer = $state('');
  tokens = $state(0);
  progress = $state<{ done: number; total: number; label: string } | null>(null);
  /** Seconds left in the current measured stage; null before two measurements. */
  eta = $state<number | null>(null);
  preview = $state.raw<RunPreview | null>(null);
  error = $state<UiError | null>(null);
  /** Wall-clock milliseconds of the whole run, once it has ended. */
  elapsedMs = $state<number | null>(null);
  private startedAt = 0;
  private stageStart: { label: string; t: number; done: number } | null = null;

  readonly running = $derived(this.runId !== null && !['idle', 'done', 'cancelled', 'failed'].includes(this.phase));

  /** Resets everything and starts a run with a new id. */
  start(prefix: string): string {
    const id = newRunId(prefix);
    this.runId = id;
    this.phase = 'loading';
    this.detail = '';
    this.thinking = '';
    this.answer = '';
    this.tokens = 0;
    this.progress = null;
    this.eta = null;
    this.preview = null;
    this.error = null;
    this.elapsedMs = null;
    this.startedAt = performance.now();
    this.stageStart = null;
    return id;
  }

  /** Asks the worker to cancel this run, if one is in progress (the run then ends with phase 'cancelled'). */
  async cancel(worker: { cancel(runId: string): Promise<unknown> }): Promise<void> {
    if (this.runId && this.running) await worker.cancel(this.runId);
  }

  private measure(label: string, done: number, total: number): void {
    const t = performance.now();
    if (!this.stageStart || this.stageStart.label !== label || done < this.stageStart.done) {
      this.stageStart = { label, t, done };
      this.eta = null;
    } else if (done > this.stageStart.done) {
      const perItem = (t - this.stageStart.t) / (done - this.stageStart.done);
      this.eta = ((total - done) * perItem) / 1000;
    }
    this.progress = { done, total, label };
  }

  /** The event sink passed (through proxy) to the worker. */
  readonly handle = (e: RgEvent): void => {
    switch (e.type) {
      case 'phase':
        if (e.phase === 'done') break;
        this.phase = e.phase;
        this.detail = e.detail ?? '';
        if (e.phase !== 'painting') this.progress = null;
        break;
      case 'token':
        this.tokens++;
        if (e.phase === 'thinking') this.thinking += e.text;
        else this.answer += e.text;
        if (this.phase === 'loading' || (this.phase === 'thinking' && e.phase === 'answering')) this.phase = e.phase;
        break;
      case 'progress':
        this.measure(e.label, e.done, e.total);
        break;
      case 'preview':
        this.preview = { step: e.step, total: e.total, width: e.width, height: e.height, rgba: e.rgba };
        if (!this.progress) this.measure('steps', e.step, e.total);
        break;
      case 'error':
        this.error = uiError(e.error);
        break;
      default:
        break;
    }
  };

  /** The run finished; `thinking` / `answer` are replaced by the final parse when given. */
  finish(final?: { reasoning?: string; answer?: string }): void {
    if (final?.reasoning !== undefined) this.thinking = final.reasoning;
    if (final?.answer !== undefined) this.answer = final.answer;
    this.phase = 'done';
    this.progress = null;
    this.eta = null;
    this.elapsedMs = performance.now() - this.startedAt;
  }

  /** The run failed or was cancelled. */
  fail(e: unknown): UiError {
    const err = uiError(e);
    this.phase = err.code === 'CANCELLED' ? 'cancelled' : 'failed';
    this.error = err.code === 'CANCELLED' ? null : err;
    this.progress = null;
    this.eta = null;
    this.elapsedMs = performance.now() - this.startedAt;
    return err;
  }
}

/** "Painting step 3 of 20" — the phase line's words. */
export function phaseLine(s: RunStream): string {
  const p = s.progress;
  switch (s.phase) {
    case 'idle':
      return 'Ready.';
    case 'loading':
      return `Loading the model${s.detail ? ` (${s.detail})` : ''}…`;
    case 'thinking':
      return `Thinking… ${s.tokens} token${s.tokens === 1 ? '' : 's'}`;
    case 'answering':
      return `Answering… ${s.tokens} token${s.tokens === 1 ? '' : 's'}`;
    case 'painting':
      return p ? `Painting step ${p.done} of ${p.total}` : 'Painting…';
    case 'decoding':
      return 'Decoding the image…';
    case 'done':
      return `Done in ${((s.elapsedMs ?? 0) / 1000).toFixed(1)} s.`;
    case 'cancelled':
      return 'Cancelled. Nothing was saved; start again whenever you like.';
    case 'failed':
      return 'Stopped by an error.';
  }
}

export function etaText(seconds: number | null): string {
  if (seconds === null) return '';
  if (seconds < 1) return 'almost done';
  return seconds < 90 ? `about ${Math.ceil(seconds)} s left` : `about ${Math.ceil(seconds / 60)} min left`;
}
