/**
 * @file Helpers every pipeline shares: a run registry (run id → AbortController, so `cancel(runId)` on the worker
 * reaches whichever pipeline owns the run), the run events every pipeline streams (re-exported by the worker
 * contract, src/worker/api.ts) and an event sink that never lets a closed page fail a run.
 */
import { CancelledError, badInput, type ErrorInfo } from '../errors';

/** Events streamed from a long run to the UI through a `proxy()` callback. */
export type RgEvent =
  | { type: 'phase'; phase: 'loading' | 'thinking' | 'answering' | 'painting' | 'decoding' | 'done'; detail?: string }
  | { type: 'token'; text: string; phase: 'thinking' | 'answering' }
  | { type: 'progress'; done: number; total: number; label: string }
  | { type: 'preview'; step: number; total: number; width: number; height: number; rgba: Uint8ClampedArray }
  | { type: 'done' }
  | { type: 'error'; error: ErrorInfo }
  | { type: 'device-lost'; reason: string; message: string };

export type EventSink = (e: RgEvent) => void;

const runs = new Map<string, AbortController>();

/** A run id: 1–128 characters of letters, digits, `-`, `_`, `.` or `:`. */
const RUN_ID = /^[\w.:-]{1,128}$/;

/**
 * Registers run `runId` and returns its AbortSignal. Throws RgError('BAD_INPUT', 'runId') for a malformed id or one
 * that is already running. Call `endRun` when the run settles.
 */
export function startRun(runId: string): AbortSignal {
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) {
    throw badInput('runId', 'the run id must be 1 to 128 letters, digits or - _ . :');
  }
  if (runs.has(runId)) throw badInput('runId', `a run with id ${runId} is already running`);
  const c = new AbortController();
  runs.set(runId, c);
  return c.signal;
}

/** Forgets run `runId` (when it has finished, failed or been cancelled). */
export function endRun(runId: string, signal: AbortSignal): void {
  if (runs.get(runId)?.signal === signal) runs.delete(runId);
}

/** Cancels run `runId`; true when it was running. The run itself throws CancelledError at its next step. */
export function cancelRun(runId: string): boolean {
  const c = runs.get(runId);
  if (!c) return false;
  c.abort();
  return true;
}

/** The ids of the runs in progress. */
export function activeRuns(): string[] {
  return [...runs.keys()];
}

let tail: Promise<void> = Promise.resolve();

/**
 * Runs `fn` when every run started before it has settled: one run at a time on the worker's single device, so two
 * runs never compete for GPU memory or dispose a cache entry (the negative condition, a model) the other is using.
 * A run cancelled while it waits rejects with CancelledError at once and does not hold up the runs behind it.
 */
export async function exclusive<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  const prev = tail;
  let release!: () => void;
  tail = new Promise<void>((r) => (release = r));
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      prev,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(new CancelledError('Cancelled while waiting for the previous run'));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    if (signal.aborted) throw new CancelledError('Cancelled while waiting for the previous run');
    return await fn();
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    // Release only once the run before this one has settled, so order holds even when this one was cancelled.
    void prev.then(release);
  }
}

/**
 * Wraps a (possibly proxied) sink of any event type: events are delivered in order, and a failing (closed) sink is
 * dropped, never fatal to the run.
 */
export function safeSink<E = RgEvent>(sink: ((e: E) => unknown) | undefined): (e: E) => void {
  let alive = Boolean(sink);
  return (e) => {
    if (!alive || !sink) return;
    try {
      void Promise.resolve(sink(e)).catch(() => {
        alive = false;
      });
    } catch {
      alive = false;
    }
  };
}
