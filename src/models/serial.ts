/**
 * @file One run at a time on a loaded model: its runs queue behind each other (ORT sessions take one run at a time,
 * and our engines own one set of scratch buffers), and once the model is closed a queued run fails instead of
 * touching freed weights.
 */
import { RgError } from '../errors';

/** A queue of runs on one model (see the file comment). */
export class RunQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** `what` names the model in the error a run after `close()` gets ("the reasoner was released"). */
  constructor(private readonly what: string) {}

  /** Runs `fn` after every earlier run has settled; INTERNAL when the model was closed meanwhile. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(() => {
      if (this.closed) throw new RgError('INTERNAL', `the ${this.what} was released`);
      return fn();
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Waits for the queued runs, then closes the queue; true the first time (the caller frees the model then). */
  async close(): Promise<boolean> {
    await this.tail;
    if (this.closed) return false;
    this.closed = true;
    return true;
  }
}
