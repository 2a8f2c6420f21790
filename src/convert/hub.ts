/**
 * @file A Hugging Face repo id, inspected before anything large is downloaded: the Hub's API gives the repo's files
 * at a revision (sizes, and the sha256 of every LFS file); the converter's own checks (`planQwen2`, `planMindOmni`)
 * then run over HTTP Range reads of the resolve URLs, so the config, the shard index, the safetensors headers and the
 * tokenizer files are read and every tensor name and shape is checked, but no weight byte is fetched. The result says
 * what converting it needs: the files and their download size, the architecture, and (through the memory plan) the
 * GPU memory per precision. Downloading and converting in the tab: src/convert/hub_pack.ts (MindOmni's folder).
 *
 * The Hub's address is a parameter, so tests serve the same API from a loopback server (tests/helpers/hub_server.mjs).
 */
import { RgError } from '../errors';
import { CATALOGUE, parseCatalogueEntry, type CatalogueEntry } from '../packs/catalogue';
import type { CheckpointReader } from './checkpoint';
import { planMindOmni, plannedManifest } from './mindomni';
import type { Manifest } from '../packs/manifest';
import { VAE_CONFIG, VAE_WEIGHTS } from './vae';
import { planQwen2, type Qwen2Dims } from './qwen2';

export const HUB = 'https://huggingface.co/';

export interface RepoRef {
  owner: string;
  name: string;
  /** A branch, a tag or a commit sha; `main` when not given. */
  revision: string;
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;

/** `owner/name[@revision]`, as the Hub writes repo ids; BAD_INPUT (field `repo`) naming what is wrong. */
export function parseRepoRef(input: string): RepoRef {
  const text = input.trim();
  const bad = (why: string) =>
    new RgError('BAD_INPUT', `${text ? `“${text}”` : 'An empty repo id'} ${why}`, {
      field: 'repo',
      hint:
        'Write it as on the Hub: owner/name, optionally @revision (a branch, tag or commit), ' +
        'e.g. Qwen/Qwen2.5-0.5B-Instruct.',
    });
  const at = text.indexOf('@');
  const id = at >= 0 ? text.slice(0, at) : text;
  const revision = at >= 0 ? text.slice(at + 1) : 'main';
  const parts = id.split('/');
  if (parts.length !== 2) throw bad('is not owner/name');
  const [owner, name] = parts as [string, string];
  if (!PART.test(owner) || !PART.test(name) || owner.includes('..') || name.includes('..'))
    throw bad('is not a repo id (letters, digits, . _ - in owner and name)');
  if (!REVISION.test(revision) || revision.includes('..') || revision.endsWith('/'))
    throw bad(`names the revision “${revision}”, which is not a branch, tag or commit`);
  return { owner, name, revision };
}

export interface HubFile {
  path: string;
  bytes: number;
  /** The LFS object's sha256 (weights), or null for a small file kept in git. */
  sha256: string | null;
  /** For a file kept in git: its git blob id (sha1 of `blob <size>\0` + bytes), as the Hub lists it; else null. */
  blobId: string | null;
}

export interface HubRepo {
  repo: string;
  /** The commit the revision resolved to (every file is read at it). */
  sha: string;
  requested: string;
  files: HubFile[];
  licence: string | null;
  gated: boolean;
}

export interface HubOptions {
  /** The Hub's address, ending in '/' (default https://huggingface.co/). */
  hub?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /**
   * A Hugging Face access token (read scope) for gated and private repos: sent as `Authorization: Bearer` to the
   * Hub's own address only (never to another origin, e.g. the CDN a download is redirected to).
   */
  token?: string;
}

/**
 * `opts.fetch` (or fetch) with the token added to requests for the Hub's own origin; unchanged without a token. Always
 * a plain function (a caller may keep it as a method: the global fetch called on another object is an illegal
 * invocation).
 */
export function hubFetch(opts: HubOptions): typeof fetch {
  const base = opts.fetch ?? fetch;
  const f = ((input: RequestInfo | URL, init?: RequestInit) => base(input, init)) as typeof fetch;
  const token = opts.token?.trim();
  if (!token) return f;
  const origin = new URL(opts.hub ?? HUB).origin;
  return ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== origin) return f(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set('Authorization', `Bearer ${token}`);
    return f(input, { ...init, headers });
  }) as typeof fetch;
}

const int = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The repo's files at the revision, from the Hub's model API; 401/403/404 become clear refusals. */
export async function hubRepo(ref: RepoRef, opts: HubOptions = {}): Promise<HubRepo> {
  const hub = opts.hub ?? HUB;
  const f = hubFetch(opts);
  const repo = `${ref.owner}/${ref.name}`;
  const url = `${hub}api/models/${repo}/revision/${encodeURIComponent(ref.revision)}?blobs=true`;
  let res: Response;
  try {
    res = await f(url, { signal: opts.signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    throw new RgError('NETWORK', `Could not reach the Hub (${url}): ${(e as Error).message}`, {
      cause: e,
      hint: 'Check the connection and try again.',
    });
  }
  if (res.status === 401 || res.status === 403)
    throw new RgError(
      'BAD_INPUT',
      opts.token?.trim()
        ? `${repo} refused your Hugging Face token: the Hub answered HTTP ${res.status}.`
        : `${repo} is gated or private: the Hub answered HTTP ${res.status}.`,
      {
        field: 'repo',
        hint: opts.token?.trim()
          ? 'Check that the token is valid (read access) and that your account has accepted the model’s terms on ' +
            'its page on huggingface.co.'
          : 'Give a Hugging Face access token (read access) of an account that has accepted the model’s terms.',
      },
    );
  if (res.status === 404)
    throw new RgError('BAD_INPUT', `The Hub has no model ${repo} at revision “${ref.revision}” (HTTP 404).`, {
      field: 'repo',
      hint: 'Check the spelling (owner/name, case included) and the revision.',
    });
  if (!res.ok)
    throw new RgError('NETWORK', `The Hub answered HTTP ${res.status} for ${repo}.`, { hint: 'Try again later.' });
  let info: Record<string, unknown>;
  try {
    info = (await res.json()) as Record<string, unknown>;
  } catch (e) {
    throw new RgError('NETWORK', `The Hub's answer for ${repo} is not JSON: ${(e as Error).message}`);
  }
  const sha = info.sha;
  if (typeof sha !== 'string' || !/^[0-9a-f]{40}$/.test(sha) || !Array.isArray(info.siblings))
    throw new RgError('NETWORK', `The Hub's answer for ${repo} has no commit sha or file list.`);
  const files: HubFile[] = [];
  for (const s of info.siblings as Record<string, unknown>[]) {
    const path = s?.rfilename;
    const lfs = s?.lfs as Record<string, unknown> | undefined;
    const bytes = lfs && int(lfs.size) ? lfs.size : s?.size;
    if (typeof path !== 'string' || !int(bytes))
      throw new RgError('NETWORK', `The Hub's file list for ${repo} lacks sizes (asked with blobs=true).`);
    const digest = lfs?.sha256;
    const sha256 = typeof digest === 'string' && /^[0-9a-f]{64}$/.test(digest) ? digest : null;
    const blob = s?.blobId;
    const blobId = !sha256 && typeof blob === 'string' && /^[0-9a-f]{40}$/.test(blob) ? blob : null;
    files.push({ path, bytes, sha256, blobId });
  }
  const card = info.cardData as Record<string, unknown> | undefined;
  const licence = typeof card?.license === 'string' ? card.license : null;
  return { repo, sha, requested: ref.revision, files, licence, gated: !!info.gated };
}

/** The folder URL of the repo's files at its commit (`<hub><owner>/<name>/resolve/<sha>/`). */
export function resolveBase(r: HubRepo, hub = HUB): string {
  return `${hub}${r.repo}/resolve/${r.sha}/`;
}

/**
 * A CheckpointReader over the repo's resolve URLs at its commit: sizes from the Hub's list (no request), bytes by
 * HTTP Range. Every byte read is counted in `fetched`, so a caller can show (and a test assert) that inspecting
 * fetched no weights.
 */
export function hubReader(r: HubRepo, opts: HubOptions = {}): CheckpointReader & { fetched: () => number } {
  const hub = opts.hub ?? HUB;
  const f = hubFetch(opts);
  const sizes = new Map(r.files.map((x) => [x.path, x.bytes]));
  let fetched = 0;
  const url = (path: string) => `${resolveBase(r, hub)}${path.split('/').map(encodeURIComponent).join('/')}`;
  return {
    fetched: () => fetched,
    async size(path) {
      return sizes.get(path) ?? null;
    },
    async read(path, begin, end) {
      if (end <= begin) return new Uint8Array(0);
      let res: Response;
      try {
        res = await f(url(path), { signal: opts.signal, headers: { Range: `bytes=${begin}-${end - 1}` } });
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        throw new RgError('NETWORK', `${url(path)}: ${(e as Error).message}`, { cause: e });
      }
      if (res.status !== 206 && !(res.status === 200 && begin === 0 && sizes.get(path) === end)) {
        await res.body?.cancel().catch(() => {});
        throw new RgError('NETWORK', `${url(path)} answered HTTP ${res.status} to a Range request`);
      }
      const b = new Uint8Array(await res.arrayBuffer());
      if (b.byteLength !== end - begin)
        throw new RgError('NETWORK', `${url(path)}: ${b.byteLength} bytes for the range [${begin}, ${end})`);
      fetched += b.byteLength;
      return b;
    },
  };
}

export interface RepoInspection {
  repo: string;
  sha: string;
  requested: string;
  kind: 'reasoner' | 'mindomni';
  modelType: string;
  licence: string | null;
  /** The files the converter reads (with their sizes and LFS sha256) and their sum: the download. */
  files: HubFile[];
  downloadBytes: number;
  /** Bytes fetched to inspect it (configs, headers, tokenizer files): never the weights. */
  inspectedBytes: number;
  reasoner: Qwen2Dims;
  /** What the memory plan is computed from (null: a layout the plan does not cover yet, said in `note`). */
  entry: CatalogueEntry | null;
  note: string | null;
  /**
   * Whether converting it makes a pack the studio opens (MindOmni's folder with vae/ and Qwen's tokenizer), which the
   * tab can then download and convert (src/convert/hub_pack.ts); a reasoner alone is no pack.
   */
  packable: boolean;
  /**
   * The manifest the conversion writes at f16, int8 and int4 (file sizes still 0, file names those of the int4 plan),
   * when it makes a pack: the memory plan of a repo the catalogue does not know is computed from its dims.
   */
  planned: Partial<Record<'f16' | 'int8' | 'int4', Manifest>>;
}

/** The files a conversion reads, by what the plan looked at (a folder prefix for MindOmni's parts). */
export function filesRead(r: HubRepo, kind: RepoInspection['kind'], shards: string[]): HubFile[] {
  const mllm = kind === 'mindomni' ? 'mllm/' : '';
  const want = new Set([
    ...['config.json', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json'].map((p) => mllm + p),
    `${mllm}generation_config.json`,
    ...shards.map((s) => mllm + s),
  ]);
  return r.files.filter(
    (f) =>
      want.has(f.path) ||
      (kind === 'mindomni' &&
        (f.path === 'connector.safetensors' ||
          f.path === 'image_decoder/config.json' ||
          f.path === 'image_decoder/model.safetensors' ||
          f.path === VAE_CONFIG ||
          f.path === VAE_WEIGHTS)),
  );
}

/** Whether the top config is Phi-3's and model.safetensors holds OmniGen's `x_embedder` (two small Range reads). */
async function isOmniGen(reader: CheckpointReader): Promise<boolean> {
  try {
    const size = await reader.size('config.json');
    const config = JSON.parse(new TextDecoder().decode(await reader.read('config.json', 0, size ?? 0)));
    if (config?.model_type !== 'phi3') return false;
    const n = Number(new DataView((await reader.read('model.safetensors', 0, 8)).buffer).getBigUint64(0, true));
    if (n > 100 * 1024 * 1024) return false;
    const header = JSON.parse(new TextDecoder().decode(await reader.read('model.safetensors', 8, 8 + n)));
    return typeof header === 'object' && header !== null && 'x_embedder.proj.weight' in header;
  } catch {
    return false; // the converter's own checks name what is wrong
  }
}

/**
 * Inspects `input` (owner/name[@revision]) on the Hub: its files, then the converter's every check over Range
 * reads (no weights fetched). A repo that is not a Qwen2-family text model or MindOmni's folder is refused naming
 * its `model_type`.
 */
export async function inspectRepo(input: string, opts: HubOptions = {}): Promise<RepoInspection> {
  const r = await hubRepo(parseRepoRef(input), opts);
  const reader = hubReader(r, opts);
  const has = (p: string) => r.files.some((f) => f.path === p);
  const kind: RepoInspection['kind'] =
    has('image_decoder/config.json') && has('mllm/config.json') ? 'mindomni' : 'reasoner';
  if (kind === 'reasoner' && !has('config.json'))
    throw new RgError('UNSUPPORTED_PACK', `${r.repo} has no config.json at its top, nor MindOmni's folders.`, {
      field: 'repo',
      hint: 'Qwen2-family text models and MindOmni can be converted.',
    });
  // OmniGen-v1's own layout (a Phi-3 config; model.safetensors holding the DiT's patch embedder): a painter.
  if (kind === 'reasoner' && has('model.safetensors') && (await isOmniGen(reader)))
    throw new RgError(
      'UNSUPPORTED_PACK',
      `${r.repo} looks like OmniGen-v1 (a Phi-3 config, and an image decoder's patch embedder in its weights): a ` +
        'painter, which makes a pack only with a reasoner (the cascade kind).',
      {
        field: 'repo',
        hint:
          'Inspect a Qwen2-family model instead and give this repo as its painter: the two convert into one cascade ' +
          'pack (docs/cascade.md).',
      },
    );
  // The checks are the converter's own, at int4 (the strictest divisibility; the weights are not read).
  const o = { weights: 'int4' as const };
  let dims: Qwen2Dims;
  let modelType: string;
  let shards: string[];
  let notAPack: string | null = null;
  const planned: RepoInspection['planned'] = {};
  if (kind === 'mindomni') {
    const p = await planMindOmni(reader, o);
    notAPack = p.pack.notAPack;
    if (notAPack === null)
      for (const f of ['f16', 'int8', 'int4'] as const) {
        const m = plannedManifest(p, f);
        if (m) planned[f] = m;
      }
    dims = p.reasoner.dims;
    modelType = p.reasoner.modelType;
    shards = p.reasoner.shards;
  } else {
    const p = await planQwen2(reader, o);
    dims = p.dims;
    modelType = p.modelType;
    shards = p.shards;
  }
  const files = filesRead(r, kind, shards);
  const downloadBytes = files.reduce((a, f) => a + f.bytes, 0);
  let entry: CatalogueEntry | null;
  let note: string | null = null;
  if (kind === 'reasoner') {
    const { rms_norm_eps: _, ...reasoner } = dims;
    entry = parseCatalogueEntry({
      id: r.repo.toLowerCase().replace(/[^a-z0-9.-]+/g, '-'),
      name: r.repo,
      kind: 'reasoner',
      repos: [r.repo],
      layout: files.map((f) => f.path),
      licence: r.licence ?? 'NOASSERTION',
      dtype: 'bf16',
      dtypeSource: 'assumed',
      reasoner,
      gpuFeatures: [],
      status: 'Inspected on the Hub; not downloaded.',
    });
  } else {
    // The catalogue's MindOmni entry plans the published configuration: used only when this repo's text decoder is it.
    const known = CATALOGUE.find((e) => e.kind === 'mindomni');
    const same =
      known &&
      (Object.keys(known.reasoner) as (keyof Qwen2Dims)[]).every(
        (k) => known.reasoner[k as keyof typeof known.reasoner] === dims[k],
      );
    entry = same ? known : null;
    if (!entry)
      note =
        'MindOmni’s layout, but not its published configuration: the memory plan is computed from the manifest the ' +
        'conversion would write' +
        (notAPack ? ', which it cannot (below).' : '.');
    if (notAPack) note = `${note ? `${note} ` : ''}It converts, but not into a pack the studio opens: ${notAPack}.`;
  }
  return {
    repo: r.repo,
    sha: r.sha,
    requested: r.requested,
    kind,
    modelType,
    licence: r.licence,
    files,
    downloadBytes,
    inspectedBytes: reader.fetched(),
    reasoner: dims,
    entry,
    note,
    packable: kind === 'mindomni' && notAPack === null,
    planned,
  };
}
