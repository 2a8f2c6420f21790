/**
 * @file Saving a finished studio run in history (src/store/history.ts) before it is shown, so nothing the user saw
 * is lost to a reload. A run whose pack manifest could not be read (no sha256 to record) is shown unsaved.
 */
import { saveRun, type NewRun } from '../../store/history';
import type { AppState } from './app.svelte';

/** The image the user gave, as PNG bytes (history keeps PNG only); other formats are re-encoded in the page. */
export async function filePng(file: Blob): Promise<Uint8Array | null> {
  try {
    if (file.type === 'image/png') return new Uint8Array(await file.arrayBuffer());
    const bmp = await createImageBitmap(file);
    const canvas = new OffscreenCanvas(bmp.width, bmp.height);
    canvas.getContext('2d')?.drawImage(bmp, 0, 0);
    bmp.close();
    return new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
  } catch {
    return null;
  }
}

/** Saves `run` under the selected pack; resolves false when it could not be recorded. */
export async function persistRun(app: AppState, run: Omit<NewRun, 'pack'>): Promise<boolean> {
  const sha = app.packInfo.manifestSha256;
  if (!sha || app.packInfo.id !== app.packId) return false;
  await saveRun({ ...run, pack: { id: app.packId, manifestSha256: sha } });
  return true;
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
