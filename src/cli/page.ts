/**
 * @file The script of cli.html, the page the `rg` command line (src/cli/rg.mjs) opens in headless Chromium. It starts
 * the same worker the studio uses (src/worker/client.ts) and puts a small bridge on `window.__rg` for Playwright's
 * `page.evaluate`: each method answers `{ ok: true, value }` or `{ ok: false, error }` (plain data: the error's
 * code, message and field survive), bytes cross as base64. Events stream to `window.__rgEmit`, which rg.mjs
 * exposes with `page.exposeFunction`; preview frames travel without their pixels (nobody watches them). Manifests
 * come from the worker (`packManifest`, validated by the store), never fetched and trusted here.
 */
import { proxy } from 'comlink';
import { WorkerHandle } from '../worker/client';
import type { DeviceReport, RgEvent } from '../worker/api';
import type { PackStatus, StoreEvent } from '../store/types';
import type { ImagineRequest, ImagineResult } from '../pipeline/imagine';
import type { EditRequest } from '../pipeline/edit';
import type { UnderstandRequest, UnderstandResult } from '../pipeline/understand';
import type { RgpoEvent, RgpoRequest, RgpoResult, RgpoRollout } from '../pipeline/rgpo/run';
import { DEFAULT_PACK, findPack, packFileUrl, setAddedPacks } from '../packs/registry';
import { toErrorInfo, type ErrorInfo } from '../errors';
import type { Manifest } from '../packs/manifest';
import { resolvePackDefaults, type PackDefaults, type PackLimits } from '../packs/defaults';
import { decodePngRgba } from '../pipeline/png';
import { checkShapes, shapesMatch, type ShapeColour, type ShapeKind } from '../pipeline/rgpo/shapes_checker';

/** What reaches the command line: the worker's events (previews without pixels), store progress, a crash. */
export type CliEvent =
  | Exclude<RgEvent, { type: 'preview' }>
  | { type: 'preview'; step: number; total: number; width: number; height: number }
  | { type: 'store'; event: StoreEvent }
  | { type: 'crash'; message: string };

export type Answer<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

/**
 * A pack as the command line needs it: which one, its manifest hash, and its defaults and limits as
 * resolvePackDefaults reads them (null when the manifest could not be read).
 */
export interface CliPackInfo {
  id: string;
  label: string;
  testOnly: boolean;
  manifestSha256: string | null;
  manifestError?: string;
  defaults: PackDefaults | null;
  limits: PackLimits | null;
  /** `rg --pack URL|PATH`: where the pack was added from (set by the command line, not the page). */
  source?: string;
}

export type CliImagineResult = Omit<ImagineResult, 'png'> & { pngBase64: string };
export type CliRgpoResult = Omit<RgpoResult, 'rollouts'> & {
  rollouts: (Omit<RgpoRollout, 'png'> & { pngBase64: string })[];
};

/** What the shapes checker read in an image, and whether it is exactly the target. */
export interface CliShapesCheck {
  /** "red circle" → count. */
  counts: Record<string, number>;
  objects: number;
  match: boolean;
}

export interface CliBridge {
  device(): Promise<Answer<DeviceReport>>;
  /** Every pack the build knows, with the one to use when none is named. */
  packs(): Promise<Answer<{ packs: CliPackInfo[]; defaultPack: string }>>;
  /** Adds a pack from the URL of its folder or manifest.json (the worker's `packAdd`), here and in the worker. */
  addPack(url: string): Promise<Answer<{ id: string }>>;
  imagine(request: ImagineRequest): Promise<Answer<CliImagineResult>>;
  edit(request: Omit<EditRequest, 'image'>, imageBase64: string, imageType: string): Promise<Answer<CliImagineResult>>;
  understand(
    request: Omit<UnderstandRequest, 'image'>,
    imageBase64: string | null,
    imageType: string | null,
  ): Promise<Answer<UnderstandResult>>;
  /** An RGPO group; its events reach the command line as the rollouts' own events plus a `rollouts` counter. */
  rgpo(request: RgpoRequest): Promise<Answer<CliRgpoResult>>;
  cancel(runId: string): Promise<Answer<boolean>>;
  /**
   * A file of a pack as base64, read from this origin and checked against the manifest's sha256; null when the
   * manifest does not list it.
   */
  packFile(packId: string, path: string): Promise<Answer<string | null>>;
  /** The TypeScript shapes checker on a PNG: what it reads, and whether that is exactly n shapes of colour and kind. */
  checkShapes(
    pngBase64: string,
    target: { n: number; colour: ShapeColour; kind: ShapeKind },
  ): Promise<Answer<CliShapesCheck>>;
}

declare global {
  interface Window {
    __rg?: CliBridge;
    __rgEmit?: (e: CliEvent) => Promise<void> | void;
  }
}

function emit(e: CliEvent): void {
  void Promise.resolve(window.__rgEmit?.(e)).catch(() => undefined);
}

function onEvent(e: RgEvent): void {
  if (e.type === 'preview') emit({ type: 'preview', step: e.step, total: e.total, width: e.width, height: e.height });
  else emit(e);
}

function onRgpoEvent(e: RgpoEvent): void {
  if (e.type === 'rollout-event') onEvent(e.event);
  else if (e.type === 'rollout-start')
    emit({ type: 'phase', phase: 'loading', detail: `rollout ${e.index + 1} (seed ${e.seed})` });
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

async function answer<T>(f: () => Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    const error = toErrorInfo(e);
    delete error.stack;
    return { ok: false, error };
  }
}

const handle = new WorkerHandle();
handle.onCrash((e) => emit({ type: 'crash', message: e.message }));

/** A pack's manifest as the worker's store reads and validates it (the cached one, else fetched). */
function manifestOf(id: string): Promise<Manifest> {
  return handle.api.packManifest(id).then((m) => m.manifest);
}

function slimPaint(r: ImagineResult): CliImagineResult {
  const { png, ...rest } = r;
  return { ...rest, pngBase64: toBase64(png) };
}

const bridge: CliBridge = {
  device: () => answer(() => handle.api.device()),

  packs: () =>
    answer(async () => {
      const statuses: PackStatus[] = await handle.api.packList();
      const packs: CliPackInfo[] = await Promise.all(
        statuses.map(async (s) => {
          // A pack whose manifest failed is reported with its manifestError; rg refuses it before any run.
          const m = s.manifestError ? null : await manifestOf(s.id).catch(() => null);
          const resolved = m ? resolvePackDefaults(m) : null;
          return {
            id: s.id,
            label: s.label,
            testOnly: s.testOnly,
            manifestSha256: s.manifestSha256,
            manifestError: s.manifestError,
            defaults: resolved?.defaults ?? null,
            limits: resolved?.limits ?? null,
          };
        }),
      );
      return { packs, defaultPack: DEFAULT_PACK };
    }),

  addPack: (url) =>
    answer(async () => {
      const s = await handle.api.packAdd(url);
      setAddedPacks(await handle.api.packEntries()); // packFile below finds it too
      return { id: s.id };
    }),

  imagine: (request) => answer(async () => slimPaint(await handle.api.imagine(request, proxy(onEvent)))),

  edit: (request, imageBase64, imageType) =>
    answer(async () => {
      const image = new Blob([fromBase64(imageBase64) as BlobPart], { type: imageType });
      return slimPaint(await handle.api.edit({ ...request, image }, proxy(onEvent)));
    }),

  understand: (request, imageBase64, imageType) =>
    answer(async () => {
      const image =
        imageBase64 === null ? null : new Blob([fromBase64(imageBase64) as BlobPart], { type: imageType ?? '' });
      return handle.api.understand({ ...request, image }, proxy(onEvent));
    }),

  rgpo: (request) =>
    answer(async () => {
      const r = await handle.api.rgpo(request, proxy(onRgpoEvent));
      return { ...r, rollouts: r.rollouts.map(({ png, ...x }) => ({ ...x, pngBase64: toBase64(png) })) };
    }),

  cancel: (runId) => answer(() => handle.api.cancel(runId)),

  packFile: (packId, path) =>
    answer(async () => {
      const entry = findPack(packId);
      if (!entry) throw new Error(`no pack ${packId}`);
      const listed = (await manifestOf(packId)).files.find((f) => f.path === path);
      if (!listed) return null;
      const res = await fetch(packFileUrl(entry, path, import.meta.env.BASE_URL));
      if (!res.ok) throw new Error(`pack ${packId}: ${path}: HTTP ${res.status}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
      if (hex !== listed.sha256)
        throw new Error(`pack ${packId}: ${path}: sha256 ${hex} is not the manifest's ${listed.sha256}`);
      return toBase64(bytes);
    }),

  checkShapes: (pngBase64, target) =>
    answer(async () => {
      const { rgba, width, height } = decodePngRgba(fromBase64(pngBase64));
      const report = checkShapes(rgba, width, height, 4);
      return {
        counts: report.counts,
        objects: report.objects.length,
        match: shapesMatch(report, target.n, target.colour, target.kind),
      };
    }),
};

// Store progress (downloads, loads) is not streamed per run; the pipelines read packs through the cache silently.
window.__rg = bridge;
document.body.dataset.ready = 'true';
