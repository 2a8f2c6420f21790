/**
 * @file History export and import as one zip (fflate): `history.json` (format, version, every run without pixels,
 * each naming its PNGs) plus `images/<id>.png` and `images/<id>.input.png`. Import checks the whole bundle first
 * (zip structure, sizes, the JSON against the zod schema, every referenced PNG present and a PNG, no stray files,
 * no duplicate ids) and only then writes the new runs in one transaction; a bad bundle is refused with the reason
 * and nothing stored changes. Runs whose id is already in the history are skipped, never overwritten.
 */
import { strFromU8, strToU8, zipSync, type Zippable } from 'fflate';
import { gib, inflateBundleSync } from './unzip_sync';
import { z } from 'zod';
import { RgError } from '../errors';
import { looksLikePng, RunMetaSchema, type HistoryStore, type RunMeta } from './history';

export const BUNDLE_FORMAT = 'rg-vlm-history';
export const MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;

const imagePath = (id: string, which: 'output' | 'input') => `images/${id}${which === 'input' ? '.input' : ''}.png`;

const BundleRunSchema = RunMetaSchema.omit({ hasImage: true, hasInputImage: true }).extend({
  image: z.string().nullable(),
  inputImage: z.string().nullable(),
});

export const BundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(1),
  exportedAt: z.number().int().nonnegative(),
  runs: z.array(BundleRunSchema).max(100_000),
});
export type Bundle = z.infer<typeof BundleSchema>;

/** Every run of `store` as one zip. */
export async function exportHistory(store: HistoryStore): Promise<Uint8Array> {
  const metas = await store.list();
  const files: Zippable = {};
  const runs: Bundle['runs'] = [];
  for (const meta of metas) {
    const { hasImage, hasInputImage, ...rest } = meta;
    const image = hasImage ? await store.image(meta.id, 'output') : undefined;
    const inputImage = hasInputImage ? await store.image(meta.id, 'input') : undefined;
    // PNGs are already compressed: store them as they are.
    if (image) files[imagePath(meta.id, 'output')] = [image, { level: 0 }];
    if (inputImage) files[imagePath(meta.id, 'input')] = [inputImage, { level: 0 }];
    runs.push({
      ...rest,
      image: image ? imagePath(meta.id, 'output') : null,
      inputImage: inputImage ? imagePath(meta.id, 'input') : null,
    });
  }
  const bundle: Bundle = { format: BUNDLE_FORMAT, version: 1, exportedAt: Date.now(), runs };
  files['history.json'] = strToU8(JSON.stringify(bundle, null, 1));
  return zipSync(files, { level: 6 });
}

function refuse(reason: string): RgError {
  return new RgError('BAD_INPUT', `The history bundle was refused: ${reason}. Nothing was changed.`, {
    field: 'history-import',
    hint: 'Choose a zip exported from this app’s history.',
  });
}

export interface ImportResult {
  /** Runs added. */
  added: number;
  /** Runs already in the history (same id), left as they were. */
  skipped: number;
}

/** The zip's files, inflated in a module worker so the page stays responsive (inline where there are no workers). */
export async function inflateBundle(zip: Uint8Array, maxBytes = MAX_BUNDLE_BYTES): Promise<Record<string, Uint8Array>> {
  if (zip.byteLength > maxBytes) throw refuse(`it is larger than ${gib(maxBytes)}`);
  if (typeof Worker === 'undefined') {
    try {
      return inflateBundleSync(zip, maxBytes);
    } catch (e) {
      throw refuse(`it is not a readable zip (${(e as Error).message})`);
    }
  }
  const worker = new Worker(new URL('./unzip.worker.ts', import.meta.url), { type: 'module', name: 'rg-unzip' });
  try {
    const answer = await new Promise<{ ok: true; files: Record<string, Uint8Array> } | { ok: false; message: string }>(
      (resolve, reject) => {
        worker.onmessage = (ev) => resolve(ev.data);
        worker.onerror = (ev) => {
          ev.preventDefault();
          reject(new RgError('INTERNAL', `the zip reader could not start: ${ev.message || 'it failed to load'}`));
        };
        worker.postMessage({ zip, maxBytes });
      },
    );
    if (!answer.ok) throw refuse(`it is not a readable zip (${answer.message})`);
    return answer.files;
  } finally {
    worker.terminate();
  }
}

/** Checks a bundle completely; returns the runs ready to write. Throws RgError('BAD_INPUT') naming the problem. */
export function parseBundle(zip: Uint8Array): BundleRun[] {
  if (zip.byteLength > MAX_BUNDLE_BYTES) throw refuse(`it is larger than ${gib(MAX_BUNDLE_BYTES)}`);
  let files: Record<string, Uint8Array>;
  try {
    files = inflateBundleSync(zip, MAX_BUNDLE_BYTES);
  } catch (e) {
    throw refuse(`it is not a readable zip (${(e as Error).message})`);
  }
  return checkBundle(files);
}

type BundleRun = { meta: RunMeta; image: Uint8Array | null; inputImage: Uint8Array | null };

/** Checks the inflated files of a bundle completely; returns the runs ready to write. */
export function checkBundle(files: Record<string, Uint8Array>): BundleRun[] {
  const json = files['history.json'];
  if (!json) throw refuse('it has no history.json');
  let data: unknown;
  try {
    data = JSON.parse(strFromU8(json));
  } catch (e) {
    throw refuse(`history.json is not JSON (${(e as Error).message})`);
  }
  const parsed = BundleSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw refuse(`history.json does not match the format (${issues})`);
  }
  const used = new Set<string>(['history.json']);
  const ids = new Set<string>();
  const out: BundleRun[] = [];
  for (const run of parsed.data.runs) {
    if (ids.has(run.id)) throw refuse(`run ${run.id} appears twice`);
    ids.add(run.id);
    const take = (path: string | null, which: 'output' | 'input'): Uint8Array | null => {
      if (path === null) return null;
      if (path !== imagePath(run.id, which))
        throw refuse(`run ${run.id} names ${path}, expected ${imagePath(run.id, which)}`);
      const b = files[path];
      if (!b) throw refuse(`run ${run.id} names ${path}, which the zip does not contain`);
      if (!looksLikePng(b)) throw refuse(`${path} is not a PNG image`);
      used.add(path);
      return b;
    };
    const image = take(run.image, 'output');
    const inputImage = take(run.inputImage, 'input');
    const { image: _a, inputImage: _b, ...rest } = run;
    out.push({ meta: { ...rest, hasImage: image !== null, hasInputImage: inputImage !== null }, image, inputImage });
  }
  const stray = Object.keys(files).filter((n) => !used.has(n) && !n.endsWith('/'));
  if (stray.length) throw refuse(`it contains files no run refers to (${stray.slice(0, 3).join(', ')})`);
  return out;
}

/**
 * Imports a bundle: inflates it off the main thread, validates all of it, then adds the runs not yet present in one
 * transaction. A Blob (the chosen file) over `maxBytes` is refused from its size, before it is read into memory.
 */
export async function importHistory(
  zip: Uint8Array | Blob,
  store: HistoryStore,
  maxBytes = MAX_BUNDLE_BYTES,
): Promise<ImportResult> {
  const size = zip instanceof Blob ? zip.size : zip.byteLength;
  if (size > maxBytes) throw refuse(`it is ${gib(size)}, larger than the ${gib(maxBytes)} a history zip may be`);
  const bytes = zip instanceof Blob ? new Uint8Array(await zip.arrayBuffer()) : zip;
  const runs = checkBundle(await inflateBundle(bytes, maxBytes));
  const existing = await store.ids();
  const fresh = runs.filter((r) => !existing.has(r.meta.id));
  if (fresh.length) await store.putMany(fresh);
  return { added: fresh.length, skipped: runs.length - fresh.length };
}
