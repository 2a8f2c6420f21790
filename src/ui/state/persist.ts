/**
 * @file Saving a finished studio run in history (src/store/history.ts) before it is shown, so nothing the user saw
 * is lost to a reload. A run that cannot be saved (no manifest sha256 to record, a full disk, any store error) is
 * still shown, with "not saved in history: <reason> — <what to do>"; a finished result is never discarded. The first
 * save of a page asks the browser to keep this site's data (navigator.storage.persist), so history survives eviction.
 */
import { saveRun, type NewRun } from '../../store/history';
import { isQuotaError, requestPersistence } from '../../store/storage';
import { RgError, toErrorInfo } from '../../errors';
import type { AppState } from './app.svelte';

/** What became of a finished run's save: in history, or not, with why and what to do, as the views show it. */
export interface SaveOutcome {
  saved: boolean;
  /** "Saved in history." or "Not saved in history: <reason> — <what to do>". */
  note: string;
}

export const SAVED_NOTE = 'Saved in history.';

/** The note for a run that could not be saved: the reason, then the next step. */
export function unsavedNote(e: unknown): string {
  if (isQuotaError(e) || (e instanceof RgError && e.code === 'QUOTA')) {
    return (
      'Not saved in history: the browser’s storage for this site is full — free space (delete a pack in the ' +
      'Model manager, or old runs in History) or export history, then run again.'
    );
  }
  const info = toErrorInfo(e);
  const message = info.message.replace(/[.\s]+$/, '');
  // An IndexedDB failure (a DOMException: UnknownError, NotFoundError, InvalidStateError…) says where it came from.
  const reason =
    typeof DOMException !== 'undefined' && e instanceof DOMException
      ? `the browser’s database refused the write (${e.name}: ${message})`
      : message;
  return (
    `Not saved in history: ${reason} — export history or free space (delete a pack in the Model manager, or old ` +
    'runs in History), then run again.'
  );
}

let persistenceAsked: Promise<boolean | null> | null = null;

/**
 * Asks the browser once per page to keep this site's data under storage pressure, after the first run is saved
 * (the model manager also asks before a download). Resolves with the answer (null: the browser cannot say).
 */
export function askPersistenceOnce(): Promise<boolean | null> {
  persistenceAsked ??= requestPersistence();
  return persistenceAsked;
}

/**
 * Whether the browser keeps this site's data under storage pressure (navigator.storage.persisted), once a pending
 * request from the first save has been answered; null when the browser cannot say.
 */
export async function storagePersisted(): Promise<boolean | null> {
  if (persistenceAsked) await persistenceAsked;
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (!storage?.persisted) return null;
  try {
    return await storage.persisted();
  } catch {
    return null;
  }
}

/**
 * Saves `run` under the selected pack. Never throws: a run that could not be recorded (no manifest sha, a full disk,
 * any store error) resolves with `saved: false` and the note to show next to the result, which stays shown.
 */
export async function persistRun(app: AppState, run: Omit<NewRun, 'pack'>): Promise<SaveOutcome> {
  const sha = app.packInfo.manifestSha256;
  if (!sha || app.packInfo.id !== app.packId) {
    return {
      saved: false,
      note:
        'Not saved in history: the pack’s manifest could not be read to record it — reload the page, or check the ' +
        'pack in the Model manager.',
    };
  }
  try {
    await saveRun({ ...run, pack: { id: app.packId, manifestSha256: sha } });
  } catch (e) {
    return { saved: false, note: unsavedNote(e) };
  }
  void askPersistenceOnce();
  return { saved: true, note: SAVED_NOTE };
}

/** Drops settings history cannot hold (undefined) and keeps numbers, strings, booleans and null. */
export function flatSettings(o: Record<string, unknown>): Record<string, number | string | boolean | null> {
  const out: Record<string, number | string | boolean | null> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number' ? Number.isFinite(v) : typeof v === 'string' || typeof v === 'boolean' || v === null)
      out[k] = v as number | string | boolean | null;
  }
  return out;
}
