import type { AppState } from './app.svelte';
import { runSkeleton, uiError, type RunLifecycle, type RunStream, type RunSteps, type UiError } from './run.svelte';

/**
 * What every studio form shares: fields validated as the user types (a field's message shows once it has been
 * edited, or after a run was asked for), and an error from the worker placed next to the field it names.
 */
export abstract class FormBase {
  touched = $state<Record<string, boolean>>({});
  submitted = $state(false);
  /** The last run's error: next to its field when it names one, else next to the run button. */
  runError = $state<UiError | null>(null);
  /** Field name → message, for every field that does not validate now. */
  abstract readonly problems: Record<string, string>;

  touch(field: string): void {
    this.touched[field] = true;
    if (this.runError?.field === field) this.runError = null;
  }

  /** The message to show next to `field`, if any. */
  errorFor(field: string): string | undefined {
    const p = this.touched[field] || this.submitted ? this.problems[field] : undefined;
    if (p) return p;
    return this.runError?.field === field ? `${this.runError.message}. ${this.runError.hint}` : undefined;
  }

  /** Marks every field as submitted; true when the form is valid and a run may start. */
  protected ready(): boolean {
    this.submitted = true;
    this.runError = null;
    return Object.keys(this.problems).length === 0;
  }

  /** The first invalid field (for focus), in the order the form lists them. */
  firstProblem(order: readonly string[]): string | undefined {
    return order.find((f) => this.problems[f]);
  }
}

/** `RunSteps` where `failed` is optional: a form shows the error next to its field, or next to its run button. */
export type FormRunSteps<R> = Omit<RunSteps<R>, 'failed'> & Partial<Pick<RunSteps<R>, 'failed'>>;

/** A studio form that starts runs: the run skeleton (`runSkeleton`) bound to its app and its run, and cancel. */
export abstract class RunForm<L extends RunLifecycle = RunStream> extends FormBase {
  private defaultsFrom: string | null = null;

  constructor(
    protected readonly app: AppState,
    readonly stream: L,
  ) {
    super();
  }

  /** True once per `source` (the pack whose defaults fill the untouched fields): whether to apply them now. */
  protected newDefaults(source: string): boolean {
    if (this.defaultsFrom === source) return false;
    this.defaultsFrom = source;
    return true;
  }

  /** Starts a run through the one skeleton; an error goes to `runError` unless `steps.failed` places it. */
  protected launch<R>(prefix: string, steps: FormRunSteps<R>): Promise<boolean> {
    return runSkeleton(this.app, this.stream, prefix, { failed: (err) => (this.runError = err), ...steps });
  }

  /** Cancels the run in progress, if any (it then ends as cancelled). */
  async cancel(): Promise<void> {
    try {
      await this.stream.cancel(this.app.worker.api);
    } catch (e) {
      this.runError = uiError(e);
    }
  }
}

/** Turns PNG bytes into an object URL; the previous one is revoked by the caller. */
export function pngUrl(png: Uint8Array): string {
  return URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
}
