/**
 * @file Typed errors shared by the worker and the UI. Each carries a code the UI maps to a sentence and a next step.
 */

export type ErrorCode =
  | 'NO_WEBGPU'
  | 'DEVICE_LOST'
  | 'BAD_INPUT'
  | 'CANCELLED'
  | 'WORKER_CRASHED'
  | 'RUNTIME'
  | 'INTEGRITY'
  | 'QUOTA'
  | 'NETWORK'
  | 'KERNEL_ARGS'
  | 'MEMORY_PLAN'
  | 'UNSUPPORTED_PACK'
  | 'INTERNAL';

/** An error with a machine-readable code and an optional hint for the user's next step. */
export class RgError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  /** For BAD_INPUT: the field the error concerns, so the UI can show it next to that control. */
  readonly field?: string;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; field?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RgError';
    this.code = code;
    this.hint = opts.hint;
    this.field = opts.field;
  }
}

/** A BAD_INPUT error about request field `field` (the UI shows `message` next to that control, then `hint`). */
export function badInput(field: string, message: string, hint?: string): RgError {
  return new RgError('BAD_INPUT', message, { field, hint });
}

/** Thrown by a kernel wrapper before anything is dispatched when its arguments do not fit. */
export class KernelArgError extends RgError {
  constructor(kernel: string, message: string) {
    super('KERNEL_ARGS', `${kernel}: ${message}`);
    this.name = 'KernelArgError';
  }
}

/** Thrown by a cancelled run; the next run starts clean. */
export class CancelledError extends RgError {
  constructor(message = 'Cancelled') {
    super('CANCELLED', message);
    this.name = 'CancelledError';
  }
}

/** The plain-data shape an error takes when it crosses the worker boundary. */
export interface ErrorInfo {
  name: string;
  code: ErrorCode;
  message: string;
  hint?: string;
  field?: string;
  stack?: string;
}

/** Turns anything thrown into ErrorInfo (unknown errors become INTERNAL with their message kept). */
export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof RgError)
    return { name: e.name, code: e.code, message: e.message, hint: e.hint, field: e.field, stack: e.stack };
  if (e instanceof Error) return { name: e.name, code: 'INTERNAL', message: e.message || e.name, stack: e.stack };
  return { name: 'Error', code: 'INTERNAL', message: String(e) };
}

/** Rebuilds an RgError from ErrorInfo on the receiving side of the worker boundary. */
export function fromErrorInfo(info: ErrorInfo): RgError {
  const err = new RgError(info.code, info.message, { hint: info.hint, field: info.field });
  err.name = info.name;
  if (info.stack) err.stack = info.stack;
  return err;
}

/** The next step the UI offers for each code, when the error itself has no hint. */
export const DEFAULT_HINTS: Record<ErrorCode, string> = {
  NO_WEBGPU: 'This browser has no WebGPU adapter; the app runs on the slower WASM backend instead.',
  DEVICE_LOST: 'The GPU device was lost. Run again: a fresh device is created automatically.',
  BAD_INPUT: 'Correct the highlighted value and try again.',
  CANCELLED: 'Nothing was changed. Start again whenever you like.',
  WORKER_CRASHED: 'The background worker stopped. It has been restarted; try again.',
  RUNTIME:
    'The model runtime failed. Try again; if it fails again, reload the page ' +
    '(the device panel shows the backend in use).',
  INTEGRITY: 'A weight file did not match its checksum. Verify the pack in the model manager to re-fetch it.',
  QUOTA: 'The browser has no room left. Free space in the model manager (delete a pack) and retry.',
  NETWORK: 'The download was interrupted. Resume it from the model manager.',
  KERNEL_ARGS: 'A GPU kernel was called with arguments that do not fit. This is a bug: please report it.',
  MEMORY_PLAN:
    'The pack does not fit this GPU as chosen. Try int4 weights, a shorter context or a smaller image size, ' +
    'or a smaller pack (the model manager shows the estimate).',
  UNSUPPORTED_PACK: 'This pack needs dims or GPU features this app or adapter does not support; choose another pack.',
  INTERNAL: 'Something unexpected went wrong. Reload the page if it keeps happening.',
};
