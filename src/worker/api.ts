/**
 * @file The worker contract: the one interface both sides of the worker speak. Type-only imports, so the UI bundle
 * never pulls in onnxruntime-web or kernel code.
 */
import type { GpuCapabilities } from '../gpu/device';
import type { PackManifest, PackReady, PackStatus, StoreEventSink, VerifyReport } from '../store/types';
import type { StorageInfo } from '../store/storage';
import type { FolderFile } from '../store/pack_service';
import type { UnderstandRequest, UnderstandResult } from '../pipeline/understand';
import type { ImagineRequest, ImagineResult } from '../pipeline/imagine';
import type { EditRequest, EditResult } from '../pipeline/edit';
import type { RgpoEventSink, RgpoRequest, RgpoResult } from '../pipeline/rgpo/run';
import type { Backend } from '../runtime/ort';
import type { EventSink } from '../pipeline/events';
import type { SelfTestResult } from '../runtime/self_test';
import type { MemoryPlan, PlanChoice } from '../packs/plan';
import type { PackEntry } from '../packs/registry';
import type { CataloguePlanRow, CatalogueReport, PlanSettings } from '../models/plan';
import type { RepoInspection } from '../convert/hub';
import type { StagedConversion } from '../convert/hub_pack';
import type { WeightVariant } from '../packs/manifest';
import type { ErrorInfo } from '../errors';

// Shared types defined in lower layers, re-exported so the UI and the CLI speak only this contract.
export type { Backend } from '../runtime/ort';
export type { EventSink, RgEvent } from '../pipeline/events';
export type { SelfTestResult } from '../runtime/self_test';
export type { MemoryPlan, PlanChoice } from '../packs/plan';
export type { CataloguePlanRow, CatalogueReport, PlanSettings } from '../models/plan';

/** A pack's memory plan on this device (src/packs/plan.ts), as the Model manager and the device panel show it. */
export interface PackPlanReport {
  packId: string;
  /** null without WebGPU (then `noGpuReason`) or when the choice itself is invalid (then `error`). */
  plan: MemoryPlan | null;
  /** "needs ≈ X GB GPU (weights Y + KV Z + activations W) at …". */
  summary?: string;
  /** "this device allows …". */
  allows?: string;
  noGpuReason?: string;
  error?: ErrorInfo;
}

/** A repo inspected on the Hub, with its memory plan per precision on this device (`plans`: empty without one). */
export interface HubReport {
  inspection: RepoInspection;
  plans: CataloguePlanRow[];
  allows: string;
  noGpuReason?: string;
  /** The command that converts it once downloaded. */
  convert: string;
}

/** What the device panel shows. */
export interface DeviceReport {
  gpu: GpuCapabilities;
  backend: Backend;
  /** Why the backend is not WebGPU, when it is not. */
  fallbackReason?: string;
  ortVersion: string;
  crossOriginIsolated: boolean;
  threads: number;
  /** GPU buffers alive on the shared device (the app's and onnxruntime-web's): models cached, runs in flight. */
  gpuMemory?: { buffers: number; bytes: number };
}

export interface Pixels {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

/** Everything the UI can ask of the worker. */
export interface RgApi {
  /** A round trip: echoes `message` with the worker's clock. */
  ping(message: string): Promise<{ echo: string; workerTime: number }>;
  /** Adapter, features, limits and the backend in use (webgpu, or wasm with the reason). */
  device(): Promise<DeviceReport>;
  /** Registers a listener for device loss and other out-of-band events. */
  subscribe(sink: EventSink): Promise<void>;
  /** Our compute pass writes a buffer, an ORT session reads it on the same device (or WASM without one). */
  selfTest(): Promise<SelfTestResult>;
  /** A test pattern drawn by one of our compute passes; the pixels come back transferred, not copied. */
  testPattern(width: number, height: number): Promise<Pixels>;
  /** Test hook: destroys the device as a loss would, so the recovery path can be exercised. */
  simulateDeviceLoss(): Promise<void>;
  /** Test hook: throws inside the worker, so the UI's error path can be exercised. */
  fail(message: string): Promise<never>;
  /** Weights store (src/store/pack_service.ts): every registry pack with its manifest's needs and what is cached. */
  packList(): Promise<PackStatus[]>;
  /** The browser's storage estimate (usage, quota, available, persisted). */
  storageInfo(): Promise<StorageInfo>;
  /**
   * Downloads or resumes a pack into IndexedDB (refused with numbers when it cannot fit the storage, or its memory
   * plan this device, before anything but the manifest is fetched); `download` events.
   */
  packDownload(id: string, sink?: StoreEventSink): Promise<PackStatus>;
  /** Cancels a running download or verification; what is stored is kept for a resume. */
  packCancel(id: string): Promise<void>;
  /** Re-hashes every cached file of a pack; a file that fails is fetched again alone. */
  packVerify(id: string, sink?: StoreEventSink): Promise<VerifyReport>;
  /** Removes a pack from IndexedDB. */
  packDelete(id: string): Promise<PackStatus>;
  /**
   * Adds a pack from the URL of its folder or of its manifest.json (src/store/added_packs.ts): the manifest is read
   * and checked (schema, an id of its own, the memory plan on this device) and the pack listed beside the shipped
   * ones; BAD_INPUT (field `packUrl`) naming what is wrong otherwise, with nothing recorded.
   */
  packAdd(url: string): Promise<PackStatus>;
  /**
   * Imports a pack from a folder picked on this computer: checked like `packAdd` plus every listed file present at
   * its size (BAD_INPUT, field `packFolder`, naming them), then listed and copied into the store (`download` events).
   */
  packImport(folder: string, files: FolderFile[], sink?: StoreEventSink): Promise<PackStatus>;
  /** The registry as the worker knows it: the shipped packs, then those added from a URL. */
  packEntries(): Promise<PackEntry[]>;
  /** Removes a pack added from a URL: its stored files and its entry (shipped packs cannot be removed). */
  packForget(id: string): Promise<void>;
  /**
   * Reads every file of a pack through CachedPackSource (as a pipeline would) and reports it ready; refused first
   * (MEMORY_PLAN / UNSUPPORTED_PACK) when its memory plan does not fit this device.
   */
  packLoad(id: string, sink?: StoreEventSink): Promise<PackReady>;
  /**
   * A pack's memory plan on this device at `choice` (default: the settings' choice, else the pack's defaults):
   * computed from the manifest alone, before any download. Downloads and loads are refused when it does not fit.
   */
  packPlan(id: string, choice?: PlanChoice): Promise<PackPlanReport>;
  /**
   * The catalogue of known real checkpoints (src/packs/catalogue.ts) planned at f16, int8 and int4 on this device:
   * from their configs alone; nothing is downloaded.
   */
  catalogue(): Promise<CatalogueReport>;
  /**
   * A Hugging Face repo (`owner/name[@revision]`) inspected before any download (src/convert/hub.ts): its files and
   * their size from the Hub's API, the converter's checks over Range reads (configs, headers, tokenizer; no weights),
   * and its memory plan per precision on this device. `hub`: another Hub address (tests' loopback server).
   */
  hubInspect(repo: string, hub?: string, token?: string): Promise<HubReport>;
  /**
   * Downloads the repo's files into the store and converts them into a pack there, then lists it
   * (src/convert/hub_pack.ts); everything that can refuse it runs before any weight is fetched. Progress arrives as
   * `download` events, then `convert` events. One conversion runs at a time; `hubCancel` stops it (the downloaded
   * files are kept; converting the repo again resumes). `painter`: OmniGen-v1's repo id, with which a Qwen2-family
   * `repo` converts into one cascade pack (docs/cascade.md). `token`: a Hugging Face access token for gated or private
   * repos (as `hubInspect`'s), sent to the Hub's own address only.
   */
  hubConvert(
    repo: string,
    weights: WeightVariant,
    hub?: string,
    sink?: StoreEventSink,
    painter?: string,
    token?: string,
  ): Promise<PackStatus>;
  /** Stops the running `hubConvert`, if any. */
  hubCancel(): Promise<void>;
  /** Conversions stopped before their end whose downloaded files are still stored (converting again resumes). */
  hubStaged(): Promise<StagedConversion[]>;
  /** Deletes what a stopped conversion of `repo` at commit `sha` downloaded (refused while a conversion runs). */
  hubDiscard(repo: string, sha: string): Promise<void>;
  /** The memory budget, the choice downloads and loads are checked at, and (tests) lowered adapter limits. */
  setPlanSettings(settings: PlanSettings): Promise<void>;
  /** A pack's manifest and its sha256: the cached one when the pack is in the store (works offline), else fetched. */
  packManifest(id: string): Promise<PackManifest>;
  /**
   * Understand (src/pipeline/understand.ts): image + question → reasoning and answer, streamed as `phase` and
   * `token` events, then `done` (or one `error`). Bad input rejects with RgError('BAD_INPUT', field) before any GPU
   * work. `request.runId` is the caller's, so `cancel(runId)` can stop it mid-stream (rejects with CANCELLED).
   */
  understand(request: UnderstandRequest, onEvent?: EventSink): Promise<UnderstandResult>;
  /**
   * Imagine (src/pipeline/imagine.ts): prompt → reasoning (streamed `token`s) → painter (`progress` per step,
   * `preview` frames) → PNG bytes (transferred) with prompt, seed and settings in tEXt chunks, plus reasoning,
   * answer and per-phase timings. Bad input rejects with RgError('BAD_INPUT', field) before any GPU work;
   * `cancel(request.runId)` stops it (rejects with CANCELLED).
   */
  imagine(request: ImagineRequest, onEvent?: EventSink): Promise<ImagineResult>;
  /** Edit (src/pipeline/edit.ts): image + instruction → reasoning → the painter from the noised image → PNG. */
  edit(request: EditRequest, onEvent?: EventSink): Promise<EditResult>;
  /**
   * RGPO lab (src/pipeline/rgpo/run.ts): one prompt, G sampled Imagine rollouts (seeds seed … seed + G − 1), each
   * scored by the pack's rewards, then totals, mean, std, advantages and best-of-G. Events per rollout; the PNGs
   * come back transferred. Bad input rejects with BAD_INPUT before any GPU work; `cancel(request.runId)` stops it.
   */
  rgpo(request: RgpoRequest, onEvent?: RgpoEventSink): Promise<RgpoResult>;
  /** Cancels the run `runId` of any pipeline at its next step; resolves true when such a run was in progress. */
  cancel(runId: string): Promise<boolean>;
}
