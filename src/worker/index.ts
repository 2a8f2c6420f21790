/**
 * @file The worker: builds the object that implements RgApi and exposes it with Comlink. Pixel buffers leave through
 * `transfer()`; events reach the UI through the `proxy()` callbacks the UI passes in.
 */
import { expose, transfer } from 'comlink';
import './transfer';
import type { DeviceReport, EventSink, HubReport, PackPlanReport, Pixels, RgApi, SelfTestResult } from './api';
import { inspectRepo } from '../convert/hub';
import { capabilities, destroyDevice, liveBufferBytes, liveBufferCount, onDeviceLost } from '../gpu/device';
import { chooseBackend } from '../runtime/backend';
import { runSelfTest } from '../runtime/self_test';
import { GpuBatch } from '../gpu/batch';
import { emptyBuffer, readBuffer } from '../gpu/readback';
import { testPattern as drawTestPattern } from '../kernels/test_pattern';
import { testPatternRef } from '../kernels/test_pattern.ref';
import { ortVersion, configureOrt } from '../runtime/ort';
import { RgError, badInput, toErrorInfo } from '../errors';
import {
  addedPacks,
  admitManifest,
  busyWith,
  cachedPack,
  emit,
  packStatus,
  packsReady,
  packStore,
  setPackAdmission,
  storeApi,
} from '../store/pack_service';
import { discardStaged, hubToPack, stagedConversions } from '../convert/hub_pack';
import { WeightVariantSchema, type WeightVariant } from '../packs/manifest';
import type { PackStatus, StoreEventSink } from '../store/types';
import {
  admitPack,
  catalogueReport,
  deviceAllowance,
  plannedReport,
  planOn,
  setPlanSettings,
  type PlanSettings,
} from '../models/plan';
import { describeAllowance, describePlan, type PlanChoice } from '../packs/plan';
import { WAITING_FOR_TAB } from '../store/cached_source';
import { understand as runUnderstand, type UnderstandRequest } from '../pipeline/understand';
import { imagine as runImagine, type ImagineRequest } from '../pipeline/imagine';
import { edit as runEdit, type EditRequest } from '../pipeline/edit';
import { rgpo as runRgpo, type RgpoEventSink, type RgpoRequest } from '../pipeline/rgpo/run';
import { cancelRun, endRun, exclusive, safeSink, startRun } from '../pipeline/events';
import type { PipelineDeps } from '../pipeline/reason';
import { guardDeviceLoss } from './device_guard';

// A download is refused before it fetches anything but the manifest when the pack cannot fit this device.
setPackAdmission((m) => admitPack(m));

const sinks = new Set<EventSink>();
onDeviceLost((info) => {
  for (const s of sinks)
    void Promise.resolve(s({ type: 'device-lost', reason: info.reason, message: info.message })).catch(() =>
      sinks.delete(s),
    );
});

/** Another Hub address than the real one: https, or plain http on loopback (the tests' Hub). */
/** A Hugging Face access token for the Hub calls: text without spaces or control characters, else BAD_INPUT. */
function tokenOption(token: string | undefined): { token?: string } {
  if (token === undefined) return {};
  if (typeof token !== 'string') throw badInput('token', 'the Hugging Face token must be text');
  if (token.trim() === '') return {};
  if (!/^[\x21-\x7e]+$/.test(token.trim()))
    throw badInput('token', 'the Hugging Face token must be one word of printable characters (it starts with hf_)');
  return { token: token.trim() };
}

function checkHub(hub: string | undefined): void {
  if (hub !== undefined && !/^(https:\/\/|http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/)/.test(hub))
    throw new RgError('BAD_INPUT', `The Hub address ${hub} is neither https nor loopback http.`, { field: 'hub' });
}

/** The store-operation key of the conversion running in this worker (one at a time). */
const HUB_CONVERT = 'hub-convert';

/** Runs `fn` as the one conversion from the Hub in this browser (a Web Lock: two tabs never write one staging). */
function oneConversion<T>(fn: () => Promise<T>): Promise<T> {
  return packStore().withLock(
    HUB_CONVERT,
    fn,
    false,
    () =>
      new RgError('BAD_INPUT', 'Another conversion from the Hub is running in this browser (another tab).', {
        hint: 'One conversion runs at a time: wait for it to finish, or cancel it in that tab.',
      }),
  );
}

function checkSize(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw badInput(name, `${name} must be an integer from 1 to ${max}, got ${v}`);
}

/**
 * The run that holds the worker's device now (runs take turns, see `exclusive`): its signal reaches every pack read,
 * also those of a model an earlier run loaded and the cache kept (that model holds the earlier run's source).
 */
let active: { signal: AbortSignal; waiting: (packId: string, waiting: boolean) => void } | null = null;

/**
 * One pipeline run on the worker: registers `request.runId` (so `cancel` reaches it), waits for the runs before it
 * (one at a time on the device), runs `pipeline` on the cached pack and the chosen backend, and forgets the run id
 * however it settles. A cancel reaches the pack loading too (waiting for another tab's lock, the manifest, a file
 * download), so a cancelled run ends at once and the next one starts. `waiting` tells the caller that the run waits
 * for another tab's lock on the pack.
 */
async function pipelineRun<Req extends { runId: string; pack: string }, Sink, Res>(
  request: Req,
  onEvent: Sink | undefined,
  pipeline: (request: Req, onEvent: Sink | undefined, deps: PipelineDeps) => Promise<Res>,
  waiting?: (packId: string, waiting: boolean) => void,
): Promise<Res> {
  const signal = startRun(request?.runId);
  try {
    await packsReady();
    const source = () =>
      cachedPack(request.pack, { signal: () => active?.signal, onWaitForLock: (id, w) => active?.waiting(id, w) });
    const deps = { source, choice: chooseBackend, signal };
    return await exclusive(signal, async () => {
      active = { signal, waiting: (id, w) => waiting?.(id, w) };
      try {
        return await guardDeviceLoss(request.runId, () => pipeline(request, onEvent, deps));
      } finally {
        active = null;
      }
    });
  } finally {
    endRun(request.runId, signal);
  }
}

/** The `waiting` callback of a run that streams RgEvents: the loading phase says why it waits, then what it loads. */
function waitingPhase(onEvent: EventSink | undefined): (packId: string, waiting: boolean) => void {
  const emit = safeSink(onEvent);
  return (packId, waiting) => emit({ type: 'phase', phase: 'loading', detail: waiting ? WAITING_FOR_TAB : packId });
}

const api = {
  async ping(message: string) {
    return { echo: message, workerTime: performance.now() };
  },

  async device(): Promise<DeviceReport> {
    configureOrt();
    const [gpu, choice] = await Promise.all([capabilities(), chooseBackend()]);
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    return {
      gpu,
      backend: choice.backend,
      fallbackReason: choice.reason,
      ortVersion: ortVersion(),
      crossOriginIsolated: isolated,
      threads: isolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 1)) : 1,
      gpuMemory: choice.device
        ? { buffers: liveBufferCount(choice.device), bytes: liveBufferBytes(choice.device) }
        : undefined,
    };
  },

  async subscribe(sink: EventSink) {
    sinks.add(sink);
  },

  async selfTest(): Promise<SelfTestResult> {
    return runSelfTest(await chooseBackend());
  },

  async testPattern(width: number, height: number): Promise<Pixels> {
    checkSize('width', width, 2048);
    checkSize('height', height, 2048);
    const choice = await chooseBackend();
    let data: Uint32Array;
    if (choice.device) {
      const out = emptyBuffer(choice.device, width * height * 4, 'test-pattern');
      try {
        const batch = new GpuBatch(choice.device, 'test-pattern');
        drawTestPattern(batch, { out, width, height });
        batch.submit();
        data = new Uint32Array(await readBuffer(choice.device, out, width * height * 4));
      } finally {
        out.destroy();
      }
    } else {
      data = testPatternRef(width, height);
    }
    const rgba = new Uint8ClampedArray(data.buffer);
    return transfer({ width, height, rgba }, [rgba.buffer]);
  },

  async simulateDeviceLoss() {
    destroyDevice(false);
  },

  async fail(message: string): Promise<never> {
    throw new RgError('INTERNAL', `worker failure on request: ${message}`);
  },

  async understand(request: UnderstandRequest, onEvent?: EventSink) {
    return pipelineRun(request, onEvent, runUnderstand, waitingPhase(onEvent));
  },

  async imagine(request: ImagineRequest, onEvent?: EventSink) {
    const r = await pipelineRun(request, onEvent, runImagine, waitingPhase(onEvent));
    return transfer(r, [r.png.buffer]);
  },

  async edit(request: EditRequest, onEvent?: EventSink) {
    const r = await pipelineRun(request, onEvent, runEdit, waitingPhase(onEvent));
    return transfer(r, [r.png.buffer]);
  },

  async rgpo(request: RgpoRequest, onEvent?: RgpoEventSink) {
    const r = await pipelineRun(request, onEvent, runRgpo);
    return transfer(
      r,
      r.rollouts.map((x) => x.png.buffer as ArrayBuffer),
    );
  },

  async cancel(runId: string) {
    return cancelRun(runId);
  },

  // Weights store: download / resume / cancel / verify / delete / load packs (src/store/pack_service.ts).
  ...storeApi,

  /** Loads a pack's files after checking its memory plan on this device (refused before reading any weights). */
  async packLoad(id: string, sink?: Parameters<typeof storeApi.packLoad>[1]) {
    await admitPack((await storeApi.packManifest(id)).manifest);
    return storeApi.packLoad(id, sink);
  },

  async packPlan(id: string, choice?: PlanChoice): Promise<PackPlanReport> {
    const { manifest } = await storeApi.packManifest(id);
    const { allowance, reason } = await deviceAllowance();
    if (!allowance) return { packId: id, plan: null, noGpuReason: reason ?? 'no WebGPU adapter' };
    try {
      const plan = planOn(manifest, allowance, choice);
      return { packId: id, plan, summary: describePlan(plan), allows: describeAllowance(allowance) };
    } catch (e) {
      return { packId: id, plan: null, error: toErrorInfo(e) };
    }
  },

  async catalogue() {
    return catalogueReport();
  },

  async hubInspect(repo: string, hub?: string, token?: string): Promise<HubReport> {
    checkHub(hub);
    const inspection = await inspectRepo(repo, {
      ...(hub === undefined ? {} : { hub: hub.replace(/\/?$/, '/') }),
      ...tokenOption(token),
    });
    const { entry } = inspection;
    // A known configuration is planned from the catalogue; another one that makes a pack, from the manifests the
    // conversion would write.
    const known = entry ? await catalogueReport([entry]) : null;
    const report = known
      ? { ...known, plans: known.entries[0]?.plans ?? [] }
      : Object.keys(inspection.planned).length
        ? await plannedReport(inspection.planned)
        : null;
    const folder = inspection.repo.split('/')[1]!;
    return {
      inspection,
      plans: report?.plans ?? [],
      allows: report?.allows ?? '',
      ...(report?.noGpuReason ? { noGpuReason: report.noGpuReason } : {}),
      convert: `npm run rg -- convert --from path/to/${folder} --out out/${folder.toLowerCase()}-int4 --weights int4`,
    };
  },

  async hubConvert(
    repo: string,
    weights: WeightVariant,
    hub?: string,
    sink?: StoreEventSink,
    painter?: string,
    token?: string,
  ): Promise<PackStatus> {
    checkHub(hub);
    if (!(WeightVariantSchema.options as readonly string[]).includes(weights))
      throw badInput('weights', `weights must be one of ${WeightVariantSchema.options.join(', ')}, got ${weights}`);
    if (painter !== undefined && (typeof painter !== 'string' || painter.trim() === ''))
      throw badInput('painter', 'the painter repo must be a Hugging Face repo id, owner/name[@revision]');
    await packsReady();
    const { id } = await busyWith(HUB_CONVERT, (signal) =>
      oneConversion(() =>
        hubToPack(repo, {
          weights,
          ...(painter === undefined ? {} : { painter: painter.trim() }),
          ...tokenOption(token),
          ...(hub === undefined ? {} : { hub: hub.replace(/\/?$/, '/') }),
          signal,
          store: packStore().weights,
          added: addedPacks(),
          admit: admitManifest,
          onProgress: (p) =>
            emit(
              sink,
              p.phase === 'download'
                ? { type: 'download', progress: { ...p.progress, packId: HUB_CONVERT } }
                : { type: 'convert', packId: HUB_CONVERT, path: p.file, done: p.read, total: p.total },
            ),
        }),
      ),
    );
    return packStatus(id);
  },

  async hubCancel() {
    await storeApi.packCancel(HUB_CONVERT);
  },

  async hubStaged() {
    return stagedConversions(packStore().weights);
  },

  async hubDiscard(repo: string, sha: string) {
    await busyWith(HUB_CONVERT, () =>
      oneConversion(async () => {
        const listed = new Set((await addedPacks().list()).map((p) => p.id));
        await discardStaged(packStore().weights, repo, sha, listed);
      }),
    );
  },

  async setPlanSettings(s: PlanSettings) {
    setPlanSettings(s);
  },
} satisfies RgApi;

expose(api);
