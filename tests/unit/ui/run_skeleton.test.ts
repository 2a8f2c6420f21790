import { describe, expect, it } from 'vitest';
import { RgError } from '../../../src/errors';
import { WorkerHandle } from '../../../src/worker/client';
import type { AppState } from '../../../src/ui/state/app.svelte';
import { RunLifecycle, RunStream, runSkeleton, type RunSteps, type UiError } from '../../../src/ui/state/run.svelte';
import { unsavedNote } from '../../../src/ui/state/persist';

/** An app whose worker never spawns: `crash` plays a worker dying; `sha` null means the run cannot be recorded. */
function fakeApp(sha: string | null) {
  const listeners = new Set<(e: RgError) => void>();
  const worker = {
    onCrash(l: (e: RgError) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    unlessCrash: WorkerHandle.prototype.unlessCrash,
  };
  const app = { worker, packId: 'p', packInfo: { id: 'p', manifestSha256: sha } } as unknown as AppState;
  return { app, listeners, crash: (e: RgError) => [...listeners].forEach((l) => l(e)) };
}

/** Steps that log what the skeleton calls, in order. */
function logged(call: () => Promise<string>, extra: Partial<RunSteps<string>> = {}) {
  const log: string[] = [];
  const errors: UiError[] = [];
  const steps: RunSteps<string> = {
    call: (runId) => {
      log.push(`call ${runId.split('-')[0]}`);
      return call();
    },
    record: (r) => {
      log.push(`record ${r}`);
      return { mode: 'imagine', inputs: {}, settings: {}, reasoning: '', answer: r, timings: {} };
    },
    done: (r, saved) => {
      log.push(`done ${r} saved=${saved}`);
      return { reasoning: 'final thinking', answer: r };
    },
    failed: (err) => {
      log.push(`failed ${err.code}`);
      errors.push(err);
    },
    cancelled: () => log.push('cancelled'),
    ...extra,
  };
  return { steps, log, errors };
}

describe('the run skeleton', () => {
  it('starts, calls the worker, saves, shows, then finishes the stream with the final text', async () => {
    const { app, listeners } = fakeApp(null);
    const stream = new RunStream();
    const { steps, log } = logged(async () => {
      expect(stream.running).toBe(true);
      stream.handle({ type: 'token', phase: 'thinking', text: 'streamed' } as Parameters<RunStream['handle']>[0]);
      return 'answer';
    });
    expect(await runSkeleton(app, stream, 'imagine', steps)).toBe(true);
    expect(log).toEqual(['call imagine', 'record answer', 'done answer saved=false']);
    expect(stream.phase).toBe('done');
    expect(stream.running).toBe(false);
    expect(stream.thinking).toBe('final thinking');
    expect(stream.answer).toBe('answer');
    expect(stream.elapsedMs).not.toBeNull();
    expect(listeners.size).toBe(0);
  });

  it('guards the call: a worker crash fails a call that would never settle (RGPO included)', async () => {
    const { app, crash, listeners } = fakeApp(null);
    const run = new RunLifecycle();
    const { steps, log, errors } = logged(() => new Promise<string>(() => {}));
    const done = runSkeleton(app, run, 'rgpo', steps);
    expect(run.running).toBe(true);
    await Promise.resolve();
    crash(new RgError('WORKER_CRASHED', 'The worker stopped'));
    expect(await done).toBe(false);
    expect(log).toEqual(['call rgpo', 'failed WORKER_CRASHED']);
    expect(errors[0]!.message).toBe('The worker stopped');
    expect(run.phase).toBe('failed');
    expect(run.error?.code).toBe('WORKER_CRASHED');
    expect(listeners.size).toBe(0);
  });

  it('a cancelled run ends cancelled, with no error and nothing saved', async () => {
    const { app } = fakeApp(null);
    const stream = new RunStream();
    const { steps, log } = logged(() => Promise.reject(new RgError('CANCELLED', 'Cancelled')));
    expect(await runSkeleton(app, stream, 'edit', steps)).toBe(false);
    expect(log).toEqual(['call edit', 'cancelled']);
    expect(stream.phase).toBe('cancelled');
    expect(stream.error).toBeNull();
  });

  it('a failed save never fails the run: the result is shown, unsaved, with the reason and what to do', async () => {
    // With a manifest sha the run is saved in history, which refuses this minimal record (BAD_INPUT): the save fails.
    for (const [prefix, run] of [
      ['understand', new RunStream()],
      ['rgpo', new RunLifecycle()],
    ] as const) {
      const notes: string[] = [];
      const s = logged(async () => 'answer', {
        done: (r, saved, note) => {
          s.log.push(`done ${r} saved=${saved}`);
          notes.push(note);
        },
      });
      expect(await runSkeleton(fakeApp('abc').app, run, prefix, s.steps)).toBe(true);
      expect(s.log).toEqual([`call ${prefix}`, 'record answer', 'done answer saved=false']);
      expect(run.phase).toBe('done');
      expect(run.error).toBeNull();
      expect(notes[0]).toMatch(/^Not saved in history: This run cannot be saved: .+ — export history or free space/);
    }
  });

  it('a record that cannot be built leaves the result shown, unsaved', async () => {
    const notes: string[] = [];
    const s = logged(async () => 'answer', {
      record: () => Promise.reject(new RgError('BAD_INPUT', 'its input image is not a PNG')),
      done: (_r, saved, note) => void notes.push(`${saved} ${note}`),
    });
    expect(await runSkeleton(fakeApp('abc').app, new RunStream(), 'edit', s.steps)).toBe(true);
    expect(notes).toEqual([
      'false Not saved in history: its input image is not a PNG — export history or free space (delete a pack in the ' +
        'Model manager, or old runs in History), then run again.',
    ]);
  });

  it('a full disk and a database error say so, with what to do', async () => {
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    expect(unsavedNote(quota)).toBe(
      'Not saved in history: the browser’s storage for this site is full — free space (delete a pack in the ' +
        'Model manager, or old runs in History) or export history, then run again.',
    );
    expect(unsavedNote(new DOMException('The database connection is closing.', 'InvalidStateError'))).toBe(
      'Not saved in history: the browser’s database refused the write (InvalidStateError: The database connection ' +
        'is closing) — export history or free space (delete a pack in the Model manager, or old runs in History), ' +
        'then run again.',
    );
    const notes: string[] = [];
    const s = logged(async () => 'answer', { done: (_r, _s, note) => void notes.push(note) });
    expect(await runSkeleton(fakeApp(null).app, new RunStream(), 'imagine', s.steps)).toBe(true);
    expect(notes[0]).toMatch(/^Not saved in history: the pack’s manifest could not be read to record it — /);
  });
});
