/**
 * @file A Hugging Face repo id made into a pack inside the tab: the repo is inspected (the converter's every check
 * over Range reads, src/convert/hub.ts), the pack it will become is checked before anything large is fetched (its id,
 * the memory plan, the storage estimate), the files the conversion reads are downloaded into the weights store under
 * a staging id (resumable, each LFS file checked against the sha256 the Hub lists, each file kept in git against its
 * git blob id), the converter then reads them from the store and writes the pack's files into it chunk by chunk, and
 * the pack is listed like one imported from a folder. The staging copy is deleted once the pack is stored.
 *
 * What is kept when it stops: a cancel, a lost connection, a full disk, or any failure once the whole download is
 * verified keeps the staged files (converting the repo again resumes where it stopped; `stagedConversions` lists
 * them, `discardStaged` deletes them); a failure before that (a file that fails its hash twice, a refusal) deletes
 * them. A pack half written is never listed: it is deleted when the conversion fails, and one left by a closed tab
 * is deleted by the next conversion of the repo at that precision or by `discardStaged`.
 *
 * MindOmni's folder converts into a pack alone (the `mindomni` kind). A Qwen2-family model alone is a reasoner with no
 * painter and is refused before any download; given with OmniGen-v1's repo as its painter (`painter`), the two
 * convert into one `cascade` pack (docs/cascade.md): both repos are inspected and the pack planned before any weight
 * byte, each repo's files are staged under its own staging id (so a stopped download of either resumes, and Stopped
 * conversions lists each), and the converter reads both from the store.
 */
import { CancelledError, RgError } from '../errors';
import { WeightVariantSchema, type Manifest, type WeightVariant } from '../packs/manifest';
import type { StagingMeter } from '../packs/safetensors_stream';
import { sha256Hex } from '../packs/source';
import type { AddedPacks } from '../store/added_packs';
import { PackDownloader } from '../store/download';
import { putWhole, storedReader, storeSink } from '../store/staging';
import { ensureRoom, type EstimateFn } from '../store/storage';
import type { DownloadProgress } from '../store/types';
import type { WeightStore } from '../store/weights';
import type { CheckpointReader } from './checkpoint';
import {
  filesRead,
  HUB,
  hubFetch,
  hubReader,
  hubRepo,
  parseRepoRef,
  resolveBase,
  type HubFile,
  type HubOptions,
  type HubRepo,
} from './hub';
import { convertCascade, planCascade, plannedCascadeManifest } from './cascade';
import { convertMindOmni, planMindOmni, plannedManifest } from './mindomni';
import { MANIFEST_FILE, type PackMeta } from './mindomni_pack';

export type HubPackProgress =
  | { phase: 'download'; progress: DownloadProgress }
  /** Bytes of the staged checkpoint the converter has read, of all staged; `file`: the output being written. */
  | { phase: 'convert'; file: string; read: number; total: number };

export interface HubPackOptions extends HubOptions {
  weights: WeightVariant;
  /**
   * The cascade kind: OmniGen-v1's repo (owner/name[@revision]) as the painter of the Qwen2-family repo converted.
   * Absent: the repo must be MindOmni's folder.
   */
  painter?: string;
  store: WeightStore;
  added: AddedPacks;
  /** The memory plan's check on the pack's manifest (throws when it cannot run on this device). */
  admit?: (m: Manifest) => unknown;
  onProgress?: (p: HubPackProgress) => void;
  estimate?: EstimateFn;
  /** The download's first pause before a retry (default 300 ms; tests shorten it). */
  retryDelayMs?: number;
  /** The converter's input bytes per row block (default 4 MiB) and the meter of what it holds at once. */
  blockBytes?: number;
  meter?: StagingMeter;
}

export interface HubPackResult {
  id: string;
  manifest: Manifest;
  repo: string;
  sha: string;
  /** The cascade kind: the painter's repo and commit. */
  painter?: { repo: string; sha: string };
  /** Bytes the download fetched this time (0 when every file was staged already). */
  fetchedBytes: number;
}

/** The id a repo's pack gets: `<owner>-<name>-<weights>`, lowercase, other characters as dashes. */
export function packIdFor(repo: string, weights: WeightVariant): string {
  const base = `${repo}-${weights}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return base.slice(0, 64).replace(/-+$/, '');
}

const STAGING = 'hub-staging/';
/** The staging id of a repo's files at a commit: not a pack id (it has a slash), so it never meets a pack's files. */
export const stagingId = (r: Pick<HubRepo, 'repo' | 'sha'>): string => `${STAGING}${r.repo}@${r.sha}`;

/** A conversion stopped before its end (cancelled, a lost connection, a closed tab): what it downloaded so far. */
export interface StagedConversion {
  repo: string;
  sha: string;
  files: number;
  storedBytes: number;
  /** When its last byte was stored (ms since the epoch). */
  updatedAt: number;
}

/** The conversions whose downloaded files are still in the store (each resumes, or can be discarded). */
export async function stagedConversions(store: WeightStore): Promise<StagedConversion[]> {
  const byId = new Map<string, StagedConversion>();
  for (const r of await store.fileRecordsUnder(STAGING)) {
    const m = /^hub-staging\/(.+)@([0-9a-f]{40})$/.exec(r.packId);
    if (!m) continue;
    const s = byId.get(r.packId) ?? { repo: m[1]!, sha: m[2]!, files: 0, storedBytes: 0, updatedAt: 0 };
    s.files++;
    s.storedBytes += r.stored;
    s.updatedAt = Math.max(s.updatedAt, r.updatedAt);
    byId.set(r.packId, s);
  }
  return [...byId.values()].sort((a, b) => b.updatedAt - a.updatedAt);
}

/**
 * Deletes what a stopped conversion of `repo` at `sha` downloaded, and any pack of the repo it had begun to write
 * (a tab closed while converting) that is not listed (`listed`: the ids of the listed packs, which are never touched).
 */
export async function discardStaged(
  store: WeightStore,
  repo: string,
  sha: string,
  listed: ReadonlySet<string>,
): Promise<void> {
  await store.deletePack(stagingId({ repo, sha }));
  for (const w of WeightVariantSchema.options) {
    const id = packIdFor(repo, w);
    if (!listed.has(id) && !(await store.manifest(id))) await store.deletePack(id);
  }
}

/** Output bytes per input byte of bf16 weights, by format: what the storage check adds to the download. */
const OUT_RATIO: Record<WeightVariant, number> = { f32: 2, f16: 1, bf16: 1, int8: 0.6, int4: 0.35 };

/** git's object id of a blob: sha1 of `blob <size>\0` and the bytes. */
async function gitBlobId(bytes: Uint8Array): Promise<string> {
  const head = new TextEncoder().encode(`blob ${bytes.byteLength}\0`);
  const all = new Uint8Array(head.byteLength + bytes.byteLength);
  all.set(head);
  all.set(bytes, head.byteLength);
  const d = new Uint8Array(await crypto.subtle.digest('SHA-1', all));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The Hub reader, keeping each small (git) file read whole, so staging it later fetches nothing again. */
function memoReader(r: HubRepo, inner: CheckpointReader): CheckpointReader & { whole: Map<string, Uint8Array> } {
  const whole = new Map<string, Uint8Array>();
  const small = new Set(r.files.filter((f) => f.sha256 === null).map((f) => f.path));
  return {
    whole,
    size: (p) => inner.size(p),
    async read(path, begin, end) {
      const hit = whole.get(path);
      if (hit) return hit.slice(begin, end);
      const b = await inner.read(path, begin, end);
      if (small.has(path) && begin === 0 && end === (await inner.size(path))) whole.set(path, b);
      return b;
    },
  };
}

/**
 * Converts the repo `input` (owner/name[@revision]) into a pack stored in `o.store` and listed in `o.added`.
 * Everything that can refuse it (the repo, the architecture, a missing tensor, a pack that is no pack, an id taken,
 * the memory plan, the storage estimate) runs before the first weight byte is fetched.
 */
export async function hubToPack(input: string, o: HubPackOptions): Promise<HubPackResult> {
  if (o.painter !== undefined) return hubToCascade(input, o.painter, o);
  const r = await hubRepo(parseRepoRef(input), o);
  const has = (p: string) => r.files.some((f) => f.path === p);
  if (!(has('mllm/config.json') && has('image_decoder/config.json')))
    throw new RgError('UNSUPPORTED_PACK', `${r.repo} is not MindOmni's folder (no mllm/ and image_decoder/).`, {
      field: 'repo',
      hint:
        'A Qwen2-family model alone thinks but does not paint: give OmniGen-v1 (Shitao/OmniGen-v1) as its painter ' +
        'to convert both into one cascade pack.',
    });
  const id = packIdFor(r.repo, o.weights);
  const listed = (await o.added.list()).find((p) => p.id === id);
  if (listed)
    throw new RgError('BAD_INPUT', `A pack “${id}” is already listed (from ${listed.addedFrom ?? listed.base}).`, {
      field: 'repo',
      hint: 'Remove it in the Model manager first, or convert to another precision.',
    });
  const reader = memoReader(r, hubReader(r, o));
  const plan = await planMindOmni(reader, { weights: o.weights });
  if (plan.pack.notAPack !== null)
    throw new RgError(
      'UNSUPPORTED_PACK',
      `${r.repo} converts, but not into a pack the studio opens: ${plan.pack.notAPack}`,
      {
        field: 'repo',
        hint: '`rg convert` still converts its weights into a folder.',
      },
    );
  const source = `${r.repo}@${r.sha}`;
  const from = `the Hugging Face repo ${source.slice(0, r.repo.length + 13)}, converted in this tab to ${o.weights}`;
  const meta: PackMeta = {
    id,
    name: `${r.repo} (${o.weights}, converted in this tab)`,
    source,
    ...(r.licence ? { licence: r.licence } : {}),
  };
  const planned = plannedManifest(plan, o.weights, meta);
  if (!planned) throw new RgError('UNSUPPORTED_PACK', `${r.repo} converts, but not into a pack the studio opens.`);
  // The id, the schema and the memory plan, on the manifest the conversion will write (file sizes still 0).
  await o.added.checkConverted(new TextEncoder().encode(JSON.stringify(planned)), from, { admit: o.admit });

  return stagedConversion(
    [{ repo: r, files: filesRead(r, 'mindomni', plan.reasoner.shards), reader }],
    { id, from },
    ([src], sink) =>
      convertMindOmni(src!, sink, {
        weights: o.weights,
        pack: meta,
        ...(o.blockBytes ? { blockBytes: o.blockBytes } : {}),
        ...(o.meter ? { meter: o.meter } : {}),
      }),
    o,
  );
}

/** The files of OmniGen-v1's repo a cascade conversion reads. */
function omnigenFilesRead(p: HubRepo): HubFile[] {
  const want = new Set([
    'config.json',
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
    'vae/config.json',
    'vae/diffusion_pytorch_model.safetensors',
  ]);
  return p.files.filter((f) => want.has(f.path));
}

/** Stages `files` of repo `r` under its staging id and downloads what is missing; resolves to the bytes fetched. */
async function stageRepo(
  r: HubRepo,
  files: HubFile[],
  reader: CheckpointReader & { whole: Map<string, Uint8Array> },
  o: HubPackOptions,
  onProgress: (p: DownloadProgress) => void,
): Promise<number> {
  const staging = stagingId(r);
  const entries = [];
  for (const f of files) entries.push(await stageSmall(f, staging, reader, o));
  let fetched = 0;
  const downloader = new PackDownloader(o.store, { id: staging, files: entries }, resolveBase(r, o.hub ?? HUB), {
    signal: o.signal,
    fetchFn: hubFetch(o),
    ...(o.retryDelayMs !== undefined ? { retryDelayMs: o.retryDelayMs } : {}),
    onProgress: (progress) => {
      fetched = progress.fetched;
      onProgress(progress);
    },
  });
  await downloader.run();
  return fetched;
}

/**
 * A Qwen2-family repo (the reasoner) and OmniGen-v1's repo (the painter) into one cascade pack (see the file
 * comment): the same checks, staging, failure rules and listing as a MindOmni repo's, over two repos.
 */
async function hubToCascade(input: string, painterInput: string, o: HubPackOptions): Promise<HubPackResult> {
  const r = await hubRepo(parseRepoRef(input), o);
  const p = await hubRepo(parseRepoRef(painterInput), o);
  const pair = `${r.repo} + ${p.repo}`;
  const id = packIdFor(`${r.repo}-${p.repo.split('/').pop()}`, o.weights);
  const listed = (await o.added.list()).find((x) => x.id === id);
  if (listed)
    throw new RgError('BAD_INPUT', `A pack “${id}” is already listed (from ${listed.addedFrom ?? listed.base}).`, {
      field: 'repo',
      hint: 'Remove it in the Model manager first, or convert to another precision.',
    });
  const rReader = memoReader(r, hubReader(r, o));
  const pReader = memoReader(p, hubReader(p, o));
  const plan = await planCascade(rReader, pReader, { weights: o.weights });
  if (plan.pack.notAPack !== null)
    throw new RgError(
      'UNSUPPORTED_PACK',
      `${pair} convert, but not into a pack the studio opens: ${plan.pack.notAPack}`,
      {
        field: 'repo',
        hint: '`rg convert --from QWEN_DIR --painter OMNIGEN_DIR` still converts their weights into a folder.',
      },
    );
  const source = `${r.repo}@${r.sha} + ${p.repo}@${p.sha}`;
  const from =
    `the Hugging Face repos ${r.repo}@${r.sha.slice(0, 12)} (reasoner) and ${p.repo}@${p.sha.slice(0, 12)} ` +
    `(painter), converted in this tab to ${o.weights}`;
  const meta: PackMeta = {
    id,
    name: `${r.repo} + ${p.repo} (${o.weights}, cascade, converted in this tab)`,
    source,
    ...(r.licence && p.licence ? { licence: `${r.licence} (reasoner); ${p.licence} (painter)` } : {}),
  };
  const planned = plannedCascadeManifest(plan, o.weights, meta);
  if (!planned) throw new RgError('UNSUPPORTED_PACK', `${pair} convert, but not into a pack the studio opens.`);
  await o.added.checkConverted(new TextEncoder().encode(JSON.stringify(planned)), from, { admit: o.admit });

  const res = await stagedConversion(
    [
      { repo: r, files: filesRead(r, 'reasoner', plan.reasoner.shards), reader: rReader },
      { repo: p, files: omnigenFilesRead(p), reader: pReader },
    ],
    { id, from },
    ([rSrc, pSrc], sink) =>
      convertCascade(rSrc!, pSrc!, sink, {
        weights: o.weights,
        pack: meta,
        ...(o.blockBytes ? { blockBytes: o.blockBytes } : {}),
        ...(o.meter ? { meter: o.meter } : {}),
      }),
    o,
  );
  return { ...res, painter: { repo: p.repo, sha: p.sha } };
}

/** One repo's part of a staged conversion: its files the converter reads, and the reader the plan read them with. */
interface StagedRepo {
  repo: HubRepo;
  files: HubFile[];
  reader: CheckpointReader & { whole: Map<string, Uint8Array> };
}

/**
 * The part of a conversion after its checks: the storage estimate, each repo's files staged under its own staging id
 * and downloaded (one progress over all), the converter run on readers over the staged files (in `repos`' order)
 * into the pack's id, the manifest (held back by the sink) checked again, stored and the pack listed; then the
 * stagings are deleted. On failure: the half-written pack is deleted; the stagings are kept when a retry can finish
 * (a cancel, a lost connection, a full disk, any failure once everything was downloaded), deleted otherwise.
 */
async function stagedConversion(
  repos: StagedRepo[],
  pack: { id: string; from: string },
  convert: (sources: CheckpointReader[], sink: ReturnType<typeof storeSink>) => Promise<{ manifest: Manifest | null }>,
  o: HubPackOptions,
): Promise<HubPackResult> {
  const { id, from } = pack;
  const sizes = repos.map((x) => x.files.reduce((a, f) => a + f.bytes, 0));
  const download = sizes.reduce((a, b) => a + b, 0);
  const stagings = repos.map((x) => stagingId(x.repo));
  // What an earlier, stopped conversion stored (its download, a half-written pack under this id) counts already.
  let stored = 0;
  for (const s of [...stagings, id]) stored += (await o.store.fileRecords(s)).reduce((a, f) => a + f.stored, 0);
  await ensureRoom(id, Math.max(0, Math.ceil(download * (1 + OUT_RATIO[o.weights])) - stored), o.estimate);

  let fetchedBytes = 0;
  let downloaded = false;
  let recorded = false;
  let checked: Awaited<ReturnType<AddedPacks['checkConverted']>>;
  try {
    // Each repo's files in turn, reported as one download of all.
    let before = 0;
    let filesBefore = 0;
    const filesTotal = repos.reduce((a, x) => a + x.files.length, 0);
    for (const x of repos) {
      const [loaded0, fetched0, files0] = [before, fetchedBytes, filesBefore];
      fetchedBytes += await stageRepo(x.repo, x.files, x.reader, o, (progress) =>
        o.onProgress?.({
          phase: 'download',
          progress: {
            ...progress,
            loaded: loaded0 + progress.loaded,
            total: download,
            fetched: fetched0 + progress.fetched,
            filesDone: files0 + progress.filesDone,
            filesTotal,
          },
        }),
      );
      before += x.files.reduce((a, f) => a + f.bytes, 0);
      filesBefore += x.files.length;
    }
    downloaded = true;

    // A conversion stopped earlier may have left files under this id (never listed): start from nothing.
    await o.store.deletePack(id);
    let file = '';
    // The staged bytes the converter has read, over all repos in order.
    const sources = stagings.map((s, i) => {
      const base = sizes.slice(0, i).reduce((a, b) => a + b, 0);
      return storedReader(o.store, s, {
        signal: o.signal,
        onRead: (_, read) =>
          o.onProgress?.({ phase: 'convert', file, read: Math.min(base + read, download), total: download }),
      });
    });
    const sink = storeSink(o.store, id, {
      signal: o.signal,
      keep: (x) => x === MANIFEST_FILE,
      onFile: (x) => {
        file = x;
      },
    });
    const res = await convert(sources, sink);
    const bytes = sink.kept.get(MANIFEST_FILE);
    if (!res.manifest || !bytes) throw new Error('the converter wrote no manifest for what it planned as a pack');
    checked = await o.added.checkConverted(bytes, from, { admit: o.admit });
    await o.store.putManifest({ packId: id, bytes, sha256: await sha256Hex(bytes), storedAt: Date.now() });
    await o.added.record(checked.entry);
    recorded = true;
  } catch (e) {
    if (!recorded) await o.store.deletePack(id).catch(() => {});
    // What a retry can finish keeps the download: a cancel, a lost connection, a full disk (once space is freed), or
    // any failure after the whole download was verified (it is listed under Stopped conversions, with Delete).
    const resumable =
      downloaded ||
      e instanceof CancelledError ||
      o.signal?.aborted ||
      (e instanceof RgError && (e.code === 'NETWORK' || e.code === 'QUOTA'));
    if (!resumable) for (const s of stagings) await o.store.deletePack(s).catch(() => {});
    let named = e;
    repos.forEach((x, i) => (named = restate(named, stagings[i]!, `${x.repo.repo}@${x.repo.sha.slice(0, 12)}`)));
    throw named;
  }
  // The pack is listed: a failure to delete a staging copy now leaves it under Stopped conversions, nothing more.
  for (const s of stagings) await o.store.deletePack(s).catch(() => {});
  const [first] = repos;
  return { id, manifest: checked.manifest, repo: first!.repo.repo, sha: first!.repo.sha, fetchedBytes };
}

/**
 * The download's errors name the staging id and speak of a pack (the downloader's words for a pack download): said
 * again with the repo's name, and the hint of a conversion, which resumes by converting again.
 */
function restate(e: unknown, staging: string, repo: string): unknown {
  if (!(e instanceof RgError) || !e.message.includes(staging)) return e;
  const message = e.message
    .replaceAll(`${staging}/`, `${repo}: `)
    .replaceAll(staging, repo)
    .replace('the pack manifest', 'the Hub’s file list');
  const hint =
    e.code === 'NETWORK'
      ? 'Check the connection, then convert again: the download continues from the last stored byte.'
      : e.code === 'INTEGRITY'
        ? 'The Hub served a file that does not match its own file list. Nothing of this repo was kept; try again later.'
        : e.hint;
  return new RgError(e.code, message, { ...(e.field ? { field: e.field } : {}), ...(hint ? { hint } : {}), cause: e });
}

/**
 * The staging entry of one file the conversion reads: an LFS file as the Hub lists it (the downloader fetches and
 * hashes it); a file kept in git fetched now (or taken from what the inspection read), checked against its git blob
 * id, and stored whole.
 */
async function stageSmall(
  f: HubFile,
  staging: string,
  reader: CheckpointReader & { whole: Map<string, Uint8Array> },
  o: HubPackOptions,
): Promise<{ path: string; bytes: number; sha256: string }> {
  if (f.sha256) return { path: f.path, bytes: f.bytes, sha256: f.sha256 };
  const known = await o.store.fileRecord(staging, f.path);
  if (known?.state === 'cached' && known.bytes === f.bytes)
    return { path: f.path, bytes: f.bytes, sha256: known.sha256 };
  if (o.signal?.aborted) throw new CancelledError('Conversion cancelled');
  const bytes = reader.whole.get(f.path) ?? (await reader.read(f.path, 0, f.bytes));
  if (f.blobId && (await gitBlobId(bytes)) !== f.blobId)
    throw new RgError(
      'INTEGRITY',
      `${f.path} does not match the git blob id the Hub lists (${f.blobId.slice(0, 12)}…).`,
      {
        hint: 'The Hub served another version of this file than its file list names. Try again later.',
      },
    );
  return putWhole(o.store, staging, f.path, bytes);
}
