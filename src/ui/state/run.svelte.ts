import type { RgEvent } from '../../worker/api';
import type { NewRun } from '../../store/history';
import type { AppState } from './app.svelte';
import { persistRun, unsavedNote, type SaveOutcome } from './persist';
import { DEFAULT_HINTS, toErrorInfo, type ErrorInfo } from '../../errors';

export type RunPhase =
  'idle' | 'loading' | 'thinking' | 'answering' | 'painting' | 'decoding' | 'done' | 'cancelled' | 'failed';

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

/** A fresh id for `cancel(runId)`. */
export function newRunId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

/**
 * One run's life as a view tracks it: its id, its phase (loading … done, cancelled or failed), its error and how long
 * it took. What every run has, streamed or not (an RGPO group streams per-rollout events of its own).
 */
export class RunLifecycle {
  runId = $state<string | null>(null);
  phase = $state<RunPhase>('idle');
  error = $state<UiError | null>(null);
  /** Wall-clock milliseconds of the whole run, once it has ended. */
  elapsedMs = $state<number | null>(null);
  private startedAt = 0;

  readonly running = $derived(this.runId !== null && !['idle', 'done', 'cancelled', 'failed'].includes(this.phase));

  /** Resets everything and starts a run with a new id. */
  start(prefix: string): string {
    const id = newRunId(prefix);
    this.runId = id;
    this.phase = 'loading';
    this.error = null;
    this.elapsedMs = null;
    this.startedAt = performance.now();
    return id;
  }

  /** Asks the worker to cancel this run, if one is in progress (the run then ends with phase 'cancelled'). */
  async cancel(worker: { cancel(runId: string): Promise<unknown> }): Promise<void> {
    if (this.runId && this.running) await worker.cancel(this.runId);
  }

  /** The run finished. */
  finish(): void {
    this.phase = 'done';
    this.elapsedMs = performance.now() - this.startedAt;
  }

  /** The run failed or was cancelled. */
  fail(e: unknown): UiError {
    const err = uiError(e);
    this.phase = err.code === 'CANCELLED' ? 'cancelled' : 'failed';
    this.error = err.code === 'CANCELLED' ? null : err;
    this.elapsedMs = performance.now() - this.startedAt;
    return err;
  }
}

/**
 * One streamed run as the views show it: phase, reasoning (thinking apart from the answer), progress with an ETA
 * and the latest step preview. Fed by the worker's events through `handle`; text stays text (views never use
 * {@html}).
 */
export class RunStream extends RunLifecycle {
  detail = $state('');
  thinking = $state('');
  answer = $state('');
  tokens = $state(0);
  progress = $state<{ done: number; total: number; label: string } | null>(null);
  /** Seconds left in the current measured stage; null before two measurements. */
  eta = $state<number | null>(null);
  preview = $state.raw<RunPreview | null>(null);
  private stageStart: { label: string; t: number; done: number } | null = null;

  /** Resets everything and starts a run with a new id. */
  override start(prefix: string): string {
    this.detail = '';
    this.thinking = '';
    this.answer = '';
    this.tokens = 0;
    this.progress = null;
    this.eta = null;
    this.preview = null;
    this.stageStart = null;
    return super.start(prefix);
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
        // Cascade thinking's second pass starts: its text streams in place of the first pass's (the result keeps both).
        if (e.detail === 'cascade') {
          this.thinking = '';
          this.answer = '';
        }
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
  override finish(final?: { reasoning?: string; answer?: string }): void {
    if (final?.reasoning !== undefined) this.thinking = final.reasoning;
    if (final?.answer !== undefined) this.answer = final.answer;
    this.progress = null;
    this.eta = null;
    super.finish();
  }

  /** The run failed or was cancelled. */
  override fail(e: unknown): UiError {
    this.progress = null;
    this.eta = null;
    return super.fail(e);
  }
}

/** The steps of one run that differ between the views; `runSkeleton` does the rest, in the same order for all. */
export interface RunSteps<R> {
  /** The worker call for `runId` (guarded: a worker crash rejects it). */
  call(runId: string): Promise<R>;
  /** History's record of the result, saved before it is shown; omitted: the run is not saved. */
  record?(result: R): Omit<NewRun, 'pack'> | Promise<Omit<NewRun, 'pack'>>;
  /**
   * Shows the result once the save was tried (`saved`: whether history has it; `note`: "Saved in history." or "Not
   * saved in history: <reason> — <what to do>"). A failed save never discards the result: it is shown all the same.
   * May return the final text for the stream.
   */
  done(result: R, saved: boolean, note: string): { reasoning?: string; answer?: string } | void;
  /** The run failed (not cancelled): where its error is shown. */
  failed(err: UiError): void;
  /** The run was cancelled. */
  cancelled?(): void;
}

/**
 * The one run skeleton of the studio (Imagine, Edit, Understand, Compare's cells, RGPO): start → the worker call
 * under the crash guard → persist in history (a failed save leaves the result shown, unsaved, with the reason) →
 * finish, or fail (cancelled apart). Resolves true when it finished.
 */
export async function runSkeleton<R>(
  app: AppState,
  run: RunLifecycle,
  prefix: string,
  steps: RunSteps<R>,
): Promise<boolean> {
  const runId = run.start(prefix);
  try {
    const result = await app.worker.unlessCrash(steps.call(runId));
    let saved: SaveOutcome = { saved: false, note: '' };
    if (steps.record) {
      try {
        saved = await persistRun(app, await steps.record(result));
      } catch (e) {
        // Building the record failed: the result is still shown, unsaved, with the reason.
        saved = { saved: false, note: unsavedNote(e) };
      }
    }
    const final = steps.done(result, saved.saved, saved.note);
    if (run instanceof RunStream) run.finish(final ?? undefined);
    else run.finish();
    return true;
  } catch (e) {
    const err = run.fail(e);
    if (err.code === 'CANCELLED') steps.cancelled?.();
    else steps.failed(err);
    return false;
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
      if (s.detail === 'cascade') return `Thinking again on the answer (cascade)… ${s.tokens} tokens in all`;
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
