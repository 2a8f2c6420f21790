/**
 * @file Storage budget: the browser's estimate, the check before a download, persistence, and turning a
 * QuotaExceededError into RgError('QUOTA') with numbers. The policy on a full disk mid-download is stated once here
 * (PARTIAL_POLICY) and shown by the model manager: what was downloaded is KEPT, so Resume continues from the last
 * stored byte once space is freed; Delete gives the space back.
 */
import { RgError } from '../errors';
import { formatPlanBytes } from '../packs/plan';

export interface StorageInfo {
  /** Bytes this origin uses, as the browser estimates it. */
  usage: number;
  /** Bytes this origin may use. */
  quota: number;
  /** quota − usage, never negative. */
  available: number;
  /** navigator.storage.persisted(): the browser will not evict this origin's data under pressure. */
  persisted: boolean | null;
}

export type EstimateFn = () => Promise<StorageEstimate>;

/** What the UI says about a download stopped by a full disk. */
export const PARTIAL_POLICY =
  'If the disk fills up during a download, what was already downloaded is kept: free some space, then press Resume ' +
  'to continue from the last stored byte. Delete removes a partial pack and gives its space back.';

/** 1536 → "1.5 KB"; decimal units, as browsers and disks report them. */
export function formatBytes(n: number): string {
  return formatPlanBytes(n);
}

function defaultEstimate(): Promise<StorageEstimate> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (!storage?.estimate) return Promise.resolve({});
  return storage.estimate();
}

/** The browser's storage estimate for this origin (works in the page and in workers). */
export async function storageInfo(estimate: EstimateFn = defaultEstimate): Promise<StorageInfo> {
  const e = await estimate();
  const usage = e.usage ?? 0;
  const quota = e.quota ?? Number.POSITIVE_INFINITY;
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  let persisted: boolean | null;
  try {
    persisted = storage?.persisted ? await storage.persisted() : null;
  } catch {
    persisted = null;
  }
  return { usage, quota, available: Math.max(0, quota - usage), persisted };
}

/**
 * Refuses a download of `needBytes` more bytes that cannot fit, with the numbers. Nothing is written before this
 * check passes.
 */
export async function ensureRoom(
  packId: string,
  needBytes: number,
  estimate: EstimateFn = defaultEstimate,
): Promise<StorageInfo> {
  const info = await storageInfo(estimate);
  if (needBytes > info.available) {
    throw new RgError(
      'QUOTA',
      `Not enough storage for ${packId}: it needs ${formatBytes(needBytes)} more, ` +
        `but the browser lets this site store only ${formatBytes(info.available)} more ` +
        `(${formatBytes(info.usage)} used of a ${formatBytes(info.quota)} quota). Nothing was downloaded.`,
      { hint: 'Free space (delete another pack, or clear other site data), then try again.' },
    );
  }
  return info;
}

/**
 * Asks the browser to keep this origin's data under storage pressure. Only a page can ask (StorageManager.persist
 * is not exposed to workers), so the model manager calls this before it starts a download in the worker.
 */
export async function requestPersistence(): Promise<boolean | null> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (!storage?.persist) return null;
  try {
    if (await storage.persisted()) return true;
    return await storage.persist();
  } catch {
    return null;
  }
}

/** True for the errors IndexedDB raises when the origin's quota is exhausted. */
export function isQuotaError(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  const name = (e as { name?: unknown }).name;
  if (name === 'QuotaExceededError') return true;
  // Some engines report a failed write as an abort whose cause is the quota error.
  const inner = (e as { error?: unknown; cause?: unknown }).error ?? (e as { cause?: unknown }).cause;
  return inner !== e && inner !== undefined && isQuotaError(inner);
}

/** The RgError a full disk during a download becomes. */
export function quotaError(
  packId: string,
  path: string,
  storedBytes: number,
  packTotal: number,
  cause: unknown,
): RgError {
  return new RgError(
    'QUOTA',
    `The browser ran out of storage while saving ${packId}/${path}. ` +
      `${formatBytes(storedBytes)} of ${formatBytes(packTotal)} ` +
      `of the pack are saved and kept, so the download can resume from where it stopped.`,
    {
      hint:
        'Free space (delete another pack, or clear other site data), then press Resume. ' +
        'Delete removes the partial pack instead.',
      cause,
    },
  );
}
