import { getContext, setContext } from 'svelte';
import { WorkerHandle } from '../../worker/client';
import type { DeviceReport, PackPlanReport, Pixels, SelfTestResult } from '../../worker/api';
import { DEFAULT_HINTS, RgError, toErrorInfo, type ErrorInfo } from '../../errors';
import { DEFAULT_PACK, PACKS, allPacks, findPack, setAddedPacks, type PackEntry } from '../../packs/registry';
import {
  GENERIC_PLACEHOLDERS,
  resolvePackDefaults,
  type PackDefaults,
  type PackInputs,
  type PackPrompts,
} from '../../packs/defaults';
import { reasonerWeightPaths, type Manifest, type WeightVariant } from '../../packs/manifest';
import { PRECISIONS, type PlanChoice } from '../../packs/plan';
import { INSTRUCTION_PREFIX, SYSTEM_PROMPT_COT, SYSTEM_PROMPT_PLAIN } from '../../models/reasoner/prompts';
import { DEFAULT_LIMITS, type Limits } from '../validate';

/** What the studio needs from the selected pack's manifest: defaults for the forms, limits for validation. */
export interface PackInfo {
  id: string;
  name: string;
  /** The pack's defaults (src/packs/defaults.ts) without the negative prompt, which no form edits. */
  defaults: Omit<PackDefaults, 'negativePrompt'>;
  limits: Limits;
  prompts: PackPrompts;
  /** What each view shows where the user types: placeholders and examples (manifest `examples` and `inputs`). */
  inputs: PackInputs;
  /** sha256 of the manifest bytes read (what exactly produced a saved run); null when it could not be read. */
  manifestSha256: string | null;
  /** The painter weight files the pack ships (manifest `paths.painter_weights`), in PRECISIONS order. */
  painterWeights: readonly WeightVariant[];
  /**
   * The reasoner engine's weight files the pack ships (`paths.reasoner_weights`), in PRECISIONS order; empty for a
   * pack whose reasoner runs its ONNX graphs only.
   */
  reasonerFiles: readonly WeightVariant[];
  /** Whether the reasoner reads images (`reasoner.vision`): without it Edit and Understand's image are unavailable. */
  vision: boolean;
}

/**
 * The paper's defaults (50 steps, guidance 3, seed 42, CoT on) and generic input hints, used until the manifest is
 * read or when it cannot be.
 */
export const FALLBACK_PACK_INFO: PackInfo = {
  id: DEFAULT_PACK,
  name: DEFAULT_PACK,
  defaults: {
    steps: 50,
    guidance: 3,
    width: 64,
    height: 64,
    seed: 42,
    cot: true,
    maxNewTokens: 256,
    editStrength: 0.6,
  },
  limits: DEFAULT_LIMITS,
  prompts: { systemCot: SYSTEM_PROMPT_COT, systemPlain: SYSTEM_PROMPT_PLAIN, instructionPrefix: INSTRUCTION_PREFIX },
  inputs: {
    prompt: { placeholder: GENERIC_PLACEHOLDERS.prompt, examples: [], initial: '' },
    instruction: { placeholder: GENERIC_PLACEHOLDERS.instruction, examples: [] },
    question: { placeholder: GENERIC_PLACEHOLDERS.question, examples: [] },
  },
  manifestSha256: null,
  painterWeights: ['f32'],
  reasonerFiles: ['f32'],
  vision: true,
};

const PACK_KEY = 'rg-vlm:pack';
/** The reasoner engine's weight format every run asks for (the header's "Reasoner weights" picker). */
const REASONER_WEIGHTS_KEY = 'rg-vlm:reasoner-weights';
/** The formats the picker offers (the engine makes each from a pack's f32 file at load). */
export const REASONER_WEIGHT_CHOICES: readonly WeightVariant[] = PRECISIONS;
/** The painter weight file runs ask for (the header's "Painter weights" picker), among those the pack ships. */
const PAINTER_WEIGHTS_KEY = 'rg-vlm:painter-weights';
/** The user's GPU memory budget in bytes (the memory plan's; WebGPU does not report GPU memory). */
const BUDGET_KEY = 'rg-vlm:memory-budget';

function readPackInfo(m: Manifest, manifestSha256: string): PackInfo {
  const p = resolvePackDefaults(m);
  const limits = { ...DEFAULT_LIMITS, ...p.limits };
  const painterWeights = PRECISIONS.filter((w) => Object.hasOwn(m.paths.painter_weights, w));
  const files = reasonerWeightPaths(m.paths);
  const reasonerFiles = PRECISIONS.filter((w) => Object.hasOwn(files, w));
  return { ...p, limits, manifestSha256, painterWeights, reasonerFiles, vision: m.reasoner.vision !== null };
}

/** A problem shown to the user, with the next step. */
export interface Notice {
  title: string;
  message: string;
  action: string;
  code: string;
}

function notice(e: unknown, title: string): Notice {
  const info: ErrorInfo = toErrorInfo(e);
  return { title, message: info.message, action: info.hint ?? DEFAULT_HINTS[info.code], code: info.code };
}

/** The app's state: owns the worker client and what the first screen shows. */
export class AppState {
  readonly worker = new WorkerHandle();
  device = $state<DeviceReport | null>(null);
  deviceLoading = $state(false);
  roundTripMs = $state<number | null>(null);
  selfTest = $state<SelfTestResult | null>(null);
  pattern = $state<Pixels | null>(null);
  notice = $state<Notice | null>(null);
  /** The pack every view runs (the pack picker in the header). */
  packId = $state(DEFAULT_PACK);
  /** The selected pack's defaults and limits (the paper's until its manifest is read). */
  packInfo = $state<PackInfo>(FALLBACK_PACK_INFO);
  /** The pack picker's list: the shipped packs, then those the user added from a URL (`refreshPacks`). */
  packs = $state<readonly PackEntry[]>(PACKS);
  /** The selection saved by the last visit when it named no shipped pack (restored by `refreshPacks`). */
  private savedPack: string | null = null;
  /** The selected pack's memory plan on this device (src/packs/plan.ts); null until read. */
  plan = $state<PackPlanReport | null>(null);
  /** The user's memory budget in bytes; null: the plan's default. */
  budgetBytes = $state<number | null>(null);
  /** The reasoner weight format the user chose (remembered across reloads); `reasonerWeights` is what runs get. */
  reasonerWeightsChoice = $state<WeightVariant>('f32');
  /** The painter weight format the user chose (remembered across reloads); `painterWeights` is what runs get. */
  painterWeightsChoice = $state<WeightVariant>('f32');

  /**
   * The painter weights runs ask for (`weights`): the chosen format when the selected pack ships it, else f32 (every
   * pack has it), else the pack's first.
   */
  get painterWeights(): WeightVariant {
    const offered = this.packInfo.painterWeights;
    if (offered.includes(this.painterWeightsChoice)) return this.painterWeightsChoice;
    return offered.includes('f32') ? 'f32' : (offered[0] ?? 'f32');
  }

  /**
   * The reasoner formats the selected pack can run: every format when it has an f32 file (the engine makes the others
   * at load) or runs ONNX only; otherwise the files it ships (a converted pack: the format it was converted to).
   */
  get reasonerWeightChoices(): readonly WeightVariant[] {
    const files = this.packInfo.reasonerFiles;
    return files.length === 0 || files.includes('f32') ? REASONER_WEIGHT_CHOICES : files;
  }

  /** The reasoner weights runs ask for (`reasonerWeights`): the choice when the pack can run it, else its first. */
  get reasonerWeights(): WeightVariant {
    const offered = this.reasonerWeightChoices;
    return offered.includes(this.reasonerWeightsChoice) ? this.reasonerWeightsChoice : (offered[0] ?? 'f32');
  }

  constructor() {
    try {
      const w = localStorage.getItem(PAINTER_WEIGHTS_KEY);
      if (w && (PRECISIONS as readonly string[]).includes(w)) this.painterWeightsChoice = w as WeightVariant;
    } catch {
      // storage refused: f32
    }
    try {
      const w = localStorage.getItem(REASONER_WEIGHTS_KEY);
      if (w && (REASONER_WEIGHT_CHOICES as readonly string[]).includes(w))
        this.reasonerWeightsChoice = w as WeightVariant;
    } catch {
      // storage refused: f32
    }
    try {
      const b = Number(localStorage.getItem(BUDGET_KEY));
      if (Number.isFinite(b) && b > 0) this.budgetBytes = b;
    } catch {
      // storage refused: the default budget
    }
    try {
      const saved = localStorage.getItem(PACK_KEY);
      if (saved && findPack(saved)) this.packId = saved;
      else if (saved) this.savedPack = saved; // perhaps one added from a URL: known once the worker lists them
    } catch {
      // storage refused (private mode): keep the default pack
    }
    this.worker.onCrash((e, restartInMs) => {
      // Restarts back off (src/worker/backoff.ts); once they are used up the error says so and nothing loops.
      this.notice = notice(e, restartInMs === null ? 'The worker could not be restarted' : 'The worker crashed');
      if (restartInMs !== null) void this.connect();
    });
  }

  /** Subscribes to worker events and loads the device report. */
  async connect(): Promise<void> {
    try {
      await this.worker.subscribe((ev) => {
        if (ev.type === 'device-lost') {
          this.notice = notice(
            new RgError('DEVICE_LOST', `The GPU device was lost (${ev.reason}): ${ev.message || 'no detail'}`),
            'GPU device lost',
          );
          void this.refreshDevice();
        }
      });
      await this.worker.api.setPlanSettings({ budgetBytes: this.budgetBytes });
      await this.refreshPacks();
      await this.refreshDevice();
      void this.refreshPlan();
    } catch (e) {
      // A crash is already reported by the crash listener above (with the restart or the give-up).
      if (!(e instanceof RgError && e.code === 'WORKER_CRASHED')) this.notice = notice(e, 'The worker could not start');
    }
  }

  /**
   * Reads the packs the user added from a URL (the worker's list) into the picker. A saved selection of an added
   * pack is restored once it is known; a selected pack that was removed falls back to the default.
   */
  async refreshPacks(): Promise<void> {
    try {
      setAddedPacks(await this.worker.api.packEntries());
    } catch {
      return; // the shipped packs stay listed; the Model manager shows the worker's error
    }
    this.packs = allPacks();
    const saved = this.savedPack;
    this.savedPack = null;
    if (!findPack(this.packId)) await this.selectPack(DEFAULT_PACK);
    else if (saved && this.packId === DEFAULT_PACK && findPack(saved)) await this.selectPack(saved);
  }

  async refreshDevice(): Promise<void> {
    this.deviceLoading = true;
    try {
      this.device = await this.worker.api.device();
    } catch (e) {
      if (!(e instanceof RgError && e.code === 'WORKER_CRASHED')) this.notice = notice(e, 'Could not read the device');
    } finally {
      this.deviceLoading = false;
    }
  }

  async ping(): Promise<void> {
    const t0 = performance.now();
    try {
      await this.worker.api.ping('hello');
      this.roundTripMs = performance.now() - t0;
    } catch (e) {
      this.notice = notice(e, 'The worker did not answer');
    }
  }

  async runSelfTest(): Promise<void> {
    try {
      this.selfTest = await this.worker.api.selfTest();
      this.pattern = await this.worker.api.testPattern(128, 64);
    } catch (e) {
      this.notice = notice(e, 'The self-test failed');
    }
  }

  async simulateLoss(): Promise<void> {
    await this.worker.api.simulateDeviceLoss();
  }

  async failInWorker(): Promise<void> {
    try {
      await this.worker.api.fail('requested from the UI');
    } catch (e) {
      this.notice = notice(e, 'The worker reported an error');
    }
  }

  /** Selects a pack for every view and reads its manifest's defaults and limits. */
  async selectPack(id: string): Promise<void> {
    const pack = findPack(id);
    if (!pack) return;
    this.packId = id;
    try {
      localStorage.setItem(PACK_KEY, id);
    } catch {
      // not remembered across reloads; still selected
    }
    try {
      // The worker reads the cached manifest when the pack is stored (so this works offline), else fetches it.
      const m = await this.worker.api.packManifest(id);
      if (this.packId === id) this.packInfo = readPackInfo(m.manifest, m.sha256);
      void this.refreshPlan();
    } catch {
      // offline and not cached: the paper's defaults stand; the pipeline checks against the real manifest anyway
      if (this.packId === id) this.packInfo = { ...FALLBACK_PACK_INFO, id, name: pack.label };
    }
  }

  /** Reads the selected pack's memory plan (the device panel shows it). */
  async refreshPlan(): Promise<void> {
    const id = this.packId;
    try {
      const plan = await this.worker.api.packPlan(id, this.planChoice());
      if (this.packId === id) this.plan = plan;
    } catch {
      if (this.packId === id) this.plan = null;
    }
  }

  /** Sets the memory budget in bytes (null: the default), remembered across reloads; refreshes the plan. */
  async setBudget(bytes: number | null): Promise<void> {
    try {
      await this.worker.api.setPlanSettings({ budgetBytes: bytes });
    } catch (e) {
      this.notice = notice(e, 'Could not set the memory budget');
      return;
    }
    this.budgetBytes = bytes;
    try {
      if (bytes === null) localStorage.removeItem(BUDGET_KEY);
      else localStorage.setItem(BUDGET_KEY, String(bytes));
    } catch {
      // not remembered across reloads
    }
    await this.refreshPlan();
  }

  /**
   * The memory plan's choice the device panel and the Model manager show: the chosen reasoner weights, and for the
   * selected pack (`packId` absent or equal to it) the painter weights its runs get; other packs at their default
   * painter file, since the choice may not be one they ship.
   */
  planChoice(packId?: string): PlanChoice | undefined {
    const c: PlanChoice = {};
    if (this.reasonerWeights !== 'f32') c.reasonerPrecision = this.reasonerWeights;
    if ((packId === undefined || packId === this.packId) && this.painterWeights !== 'f32')
      c.painterPrecision = this.painterWeights;
    return Object.keys(c).length ? c : undefined;
  }

  /**
   * Chooses the painter's weight file for the next runs among those the selected pack ships (remembered across
   * reloads; others are ignored) and refreshes the plan shown.
   */
  setPainterWeights(w: string): void {
    if (!(this.packInfo.painterWeights as readonly string[]).includes(w)) return;
    this.painterWeightsChoice = w as WeightVariant;
    try {
      localStorage.setItem(PAINTER_WEIGHTS_KEY, w);
    } catch {
      // not remembered across reloads; still chosen
    }
    void this.refreshPlan();
  }

  /**
   * Chooses the reasoner's weight format for the next runs (remembered across reloads; others are ignored) and
   * refreshes the plan shown.
   */
  setReasonerWeights(w: string): void {
    if (!(REASONER_WEIGHT_CHOICES as readonly string[]).includes(w)) return;
    this.reasonerWeightsChoice = w as WeightVariant;
    try {
      localStorage.setItem(REASONER_WEIGHTS_KEY, w);
    } catch {
      // not remembered across reloads; still chosen
    }
    void this.refreshPlan();
  }

  dismiss(): void {
    this.notice = null;
  }
}

const KEY = Symbol('app-state');
export function setAppState(s: AppState): AppState {
  return setContext(KEY, s);
}
export function getAppState(): AppState {
  return getContext<AppState>(KEY);
}
