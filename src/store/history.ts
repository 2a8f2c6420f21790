/**
 * @file Run history in IndexedDB. A pipeline calls `saveRun` with the finished run BEFORE it shows the result, so
 * nothing the user saw can be lost to a reload or a crash. A record holds the mode, inputs, settings, reasoning,
 * answer, the output image (and input image, for Understand / Edit) as PNG bytes, timings, and the pack id with the
 * sha256 of its manifest (what exactly produced it).
 *
 * One idb-keyval store, array keys: ['run', id] → the record without pixels (what the list reads), and
 * ['png', id, 'output' | 'input'] → PNG bytes. A record and its images are written in one transaction, so a run is
 * either fully there or not at all. Works in the page and in the worker.
 */
import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';
import { z } from 'zod';
import { RgError } from '../errors';
import { MAX_HISTORY_PNG_BYTES } from '../limits';

export const RUN_MODES = ['understand', 'imagine', 'edit', 'compare', 'rgpo'] as const;
export type RunMode = (typeof RUN_MODES)[number];

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');
const runId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ (1 to 64)');
const label = z.string().min(1).max(64);

/** Everything of a run except its pixels: what the history list reads, and what an export's history.json holds. */
export const RunMetaSchema = z.strictObject({
  id: runId,
  /** Milliseconds since the epoch. */
  createdAt: z.number().int().nonnegative(),
  mode: z.enum(RUN_MODES),
  /** prompt, question, instruction, negative prompt… as the mode has them. */
  inputs: z.record(label, z.string().max(200_000)),
  /** steps, guidance, width, height, seed, cot, temperature… */
  settings: z.record(label, z.union([z.number().finite(), z.string().max(10_000), z.boolean(), z.null()])),
  reasoning: z.string().max(2_000_000),
  answer: z.string().max(200_000),
  /** Milliseconds per stage (reasoning, painting, decoding, total…). */
  timings: z.record(label, z.number().finite().nonnegative()),
  pack: z.strictObject({ id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/), manifestSha256: sha256 }),
  hasImage: z.boolean(),
  hasInputImage: z.boolean(),
});
export type RunMeta = z.infer<typeof RunMetaSchema>;

/** A full run record. */
export interface RunRecord extends RunMeta {
  /** The output image as PNG bytes (null for Understand, which paints nothing). */
  image: Uint8Array | null;
  /** The image the user gave (Understand, Edit), as PNG bytes. */
  inputImage: Uint8Array | null;
}

/** What a pipeline passes to `saveRun`: id and createdAt are filled in when absent. */
export type NewRun = Omit<RunMeta, 'id' | 'createdAt' | 'hasImage' | 'hasInputImage'> & {
  id?: string;
  createdAt?: number;
  image?: Uint8Array | null;
  inputImage?: Uint8Array | null;
};

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const MAX_PNG_BYTES = MAX_HISTORY_PNG_BYTES;

/** True when `b` starts with the PNG signature and is not absurdly large. */
export function looksLikePng(b: Uint8Array): boolean {
  return (
    b.byteLength > PNG_SIGNATURE.length && b.byteLength <= MAX_PNG_BYTES && PNG_SIGNATURE.every((v, i) => b[i] === v)
  );
}

export const runKey = (id: string): IDBValidKey => ['run', id];
export const pngKey = (id: string, which: 'output' | 'input'): IDBValidKey => ['png', id, which];
const under = (...prefix: IDBValidKey[]): IDBKeyRange => IDBKeyRange.bound(prefix, [...prefix, []]);

function describe(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Other contexts (the page, the worker, other tabs) hear about changes on this channel and re-read the list. */
export const HISTORY_CHANNEL = 'rg-history';

function notify(dbName: string, change: { type: 'saved' | 'deleted'; ids: string[] }): void {
  if (typeof BroadcastChannel === 'undefined') return;
  const ch = new BroadcastChannel(HISTORY_CHANNEL);
  ch.postMessage({ db: dbName, ...change });
  ch.close();
}

function newId(): string {
  return globalThis.crypto.randomUUID();
}

/** Run history in one IndexedDB database (tests open their own). */
export class HistoryStore {
  private readonly use: UseStore;

  constructor(readonly dbName = 'rg-history') {
    this.use = createStore(dbName, 'kv');
  }

  /** Validates and writes a finished run (record and images in one transaction); resolves once it is on disk. */
  async save(run: NewRun): Promise<RunRecord> {
    const image = run.image ?? null;
    const inputImage = run.inputImage ?? null;
    const { image: _i, inputImage: _ii, ...rest } = run;
    const parsed = RunMetaSchema.safeParse({
      ...rest,
      id: run.id ?? newId(),
      createdAt: run.createdAt ?? Date.now(),
      hasImage: image !== null,
      hasInputImage: inputImage !== null,
    });
    if (!parsed.success) throw new RgError('BAD_INPUT', `This run cannot be saved: ${describe(parsed.error)}`);
    for (const [name, b] of [
      ['image', image],
      ['input image', inputImage],
    ] as const) {
      if (b !== null && !looksLikePng(b))
        throw new RgError('BAD_INPUT', `This run cannot be saved: its ${name} is not a PNG`);
    }
    const meta = parsed.data;
    await this.putMany([{ meta, image, inputImage }]);
    return { ...meta, image, inputImage };
  }

  /** Writes several validated runs in ONE transaction (all or none). */
  async putMany(runs: { meta: RunMeta; image: Uint8Array | null; inputImage: Uint8Array | null }[]): Promise<void> {
    const exact = (b: Uint8Array) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice());
    await this.use('readwrite', (s) => {
      for (const { meta, image, inputImage } of runs) {
        s.put(meta, runKey(meta.id));
        if (image) s.put(exact(image), pngKey(meta.id, 'output'));
        if (inputImage) s.put(exact(inputImage), pngKey(meta.id, 'input'));
      }
      return promisifyRequest(s.transaction);
    });
    notify(this.dbName, { type: 'saved', ids: runs.map((r) => r.meta.id) });
  }

  /** Every run without pixels, newest first. */
  async list(): Promise<RunMeta[]> {
    const all = await this.use('readonly', (s) => promisifyRequest(s.getAll(under('run')) as IDBRequest<RunMeta[]>));
    return all.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
  }

  /** Ids of every stored run. */
  async ids(): Promise<Set<string>> {
    const keys = await this.use('readonly', (s) => promisifyRequest(s.getAllKeys(under('run'))));
    return new Set(keys.map((k) => (k as [string, string])[1]));
  }

  /** A full run with its images; undefined when there is none with this id. */
  async get(id: string): Promise<RunRecord | undefined> {
    return this.use('readonly', async (s) => {
      const [meta, image, inputImage] = await Promise.all([
        promisifyRequest(s.get(runKey(id)) as IDBRequest<RunMeta | undefined>),
        promisifyRequest(s.get(pngKey(id, 'output')) as IDBRequest<Uint8Array | undefined>),
        promisifyRequest(s.get(pngKey(id, 'input')) as IDBRequest<Uint8Array | undefined>),
      ]);
      return meta ? { ...meta, image: image ?? null, inputImage: inputImage ?? null } : undefined;
    });
  }

  /** Only the output PNG of a run (for thumbnails). */
  async image(id: string, which: 'output' | 'input' = 'output'): Promise<Uint8Array | undefined> {
    return this.use('readonly', (s) =>
      promisifyRequest(s.get(pngKey(id, which)) as IDBRequest<Uint8Array | undefined>),
    );
  }

  /** Removes a run and its images (one transaction). */
  async delete(id: string): Promise<void> {
    await this.use('readwrite', (s) => {
      s.delete(runKey(id));
      s.delete(under('png', id));
      return promisifyRequest(s.transaction);
    });
    notify(this.dbName, { type: 'deleted', ids: [id] });
  }
}

let defaultStore: HistoryStore | null = null;
/** The app's history database. */
export function historyStore(): HistoryStore {
  defaultStore ??= new HistoryStore();
  return defaultStore;
}

/** Saves a finished run in the app's history; await it before showing the result. */
export function saveRun(run: NewRun): Promise<RunRecord> {
  return historyStore().save(run);
}

/** Every run in the app's history, newest first, without pixels. */
export function listRuns(): Promise<RunMeta[]> {
  return historyStore().list();
}

/** One run of the app's history with its images. */
export function getRun(id: string): Promise<RunRecord | undefined> {
  return historyStore().get(id);
}

/** Removes one run from the app's history. */
export function deleteRun(id: string): Promise<void> {
  return historyStore().delete(id);
}
