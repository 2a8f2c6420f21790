/**
 * @file A studio form's submit handler: starts the run, and when a field does not validate moves focus to the first
 * one, so keyboard and screen-reader users land on what to fix.
 */
import { tick } from 'svelte';

/** What the handler needs of a form's state. */
export interface SubmittableForm {
  run(): Promise<void>;
  firstProblem(order: readonly string[]): string | undefined;
}

/** The `onsubmit` of a form whose fields, in `order`, have the ids `idOf(field)`. */
export function submitter(form: SubmittableForm, order: readonly string[], idOf: (field: string) => string) {
  return async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    const run = form.run();
    const bad = form.firstProblem(order);
    if (bad) {
      await tick();
      document.getElementById(idOf(bad))?.focus();
    }
    await run;
  };
}
