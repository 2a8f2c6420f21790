/**
 * @file A run interrupted by a lost GPU device ends with DEVICE_LOST (the UI offers a retry), never with whatever
 * error the pipeline happened to hit next on the dead device, and never hangs on it.
 */
import { onDeviceLost, sharedDeviceGone, type DeviceLostInfo } from '../gpu/device';
import { RgError } from '../errors';
import { cancelRun } from '../pipeline/events';

/** How long a pipeline may take to unwind after the loss before the run is failed anyway. */
export const UNWIND_MS = 2000;
/** How long a run found on a dead device waits for the browser's loss notice (its reason) before ending without. */
const NOTICE_MS = 10_000;

export function deviceLostError(info: DeviceLostInfo, cause?: unknown): RgError {
  return new RgError(
    'DEVICE_LOST',
    `The GPU device was lost during the run (${info.reason}): ${info.message || 'no detail'}.`,
    { hint: 'Retry: the run starts again on a fresh device. Nothing was saved from the interrupted run.', cause },
  );
}

/**
 * Runs `fn` (the pipeline of run `runId`). If the shared device is lost meanwhile, the run is cancelled so that it
 * stops at its next step, and it rejects with DEVICE_LOST however the pipeline ends (or after UNWIND_MS if the
 * pipeline does not end). A result that was finished before the failure surfaced is kept.
 */
export async function guardDeviceLoss<T>(runId: string, fn: () => Promise<T>): Promise<T> {
  const seen: { lost: DeviceLostInfo | null } = { lost: null };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  let off: () => void = () => {};
  let noticed: () => void = () => {};
  const notice = new Promise<void>((r) => (noticed = r));
  const lostFor = new Promise<never>((_, reject) => {
    off = onDeviceLost((info) => {
      seen.lost = info;
      noticed();
      cancelRun(runId);
      timer = setTimeout(() => reject(deviceLostError(info)), UNWIND_MS);
    });
  });
  lostFor.catch(() => undefined);
  try {
    return await Promise.race([fn(), lostFor]);
  } catch (e) {
    // A dead device can fail a call (a readback's mapAsync: "unmapped before mapping was resolved") seconds before
    // its `lost` promise settles: after an error that is not one of ours, a probe asks the device; if it is gone,
    // the run ends with DEVICE_LOST (with the browser's reason when the notice comes within NOTICE_MS).
    if (!seen.lost && (!(e instanceof RgError) || e.code === 'INTERNAL' || e.code === 'RUNTIME')) {
      if (await sharedDeviceGone()) {
        await Promise.race([notice, new Promise<void>((r) => (graceTimer = setTimeout(r, NOTICE_MS)))]);
        throw deviceLostError(seen.lost ?? { reason: 'unknown', message: 'the device no longer answers' }, e);
      }
    }
    if (seen.lost) throw e instanceof RgError && e.code === 'DEVICE_LOST' ? e : deviceLostError(seen.lost, e);
    throw e;
  } finally {
    off();
    clearTimeout(timer);
    clearTimeout(graceTimer);
  }
}
