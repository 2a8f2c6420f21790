import type { WeightVariant } from '../../packs/manifest';
import type { WorkerHandle } from '../../worker/client';
import type { AppState, PackInfo } from './app.svelte';
import { RunForm, pngUrl } from './form.svelte';
import { RunStream } from './run.svelte';
import type { ImagineRequest, PaintTimingsReport } from '../../pipeline/imagine';
import type { CascadeResult } from '../../pipeline/cascade';
import type { NewRun } from '../../store/history';
import { flatSettings } from './persist';
import {
  errorsOf,
  randomSeed,
  validateGuidance,
  validateMaxNewTokens,
  validatePrompt,
  validateSeed,
  validateSize,
  validateSteps,
} from '../validate';

/** Imagine's settings once validated: what a run (and a Compare cell) is made of. */
export interface ImagineSettings {
  prompt: string;
  cot: boolean;
  /** Cascade thinking (only with `cot`): the answer is reasoned on again and that second pass paints. */
  cascade: boolean;
  /** The system prompt of this run (the CoT one when `cot`, else the plain one). */
  systemPrompt: string;
  /** The start of the user turn, when it differs from the pack's instruction prefix (null: the pack's). */
  userPrefix: string | null;
  steps: number;
  guidance: number;
  seed: number;
  width: number;
  height: number;
  /** The reasoner's token budget. */
  maxNewTokens: number;
  /** The reasoner engine's weight format (the header's picker); absent: the pipeline's default. */
  reasonerWeights?: WeightVariant;
  /** The painter's weight file (the header's picker; the request's `weights`); absent: the pipeline's default. */
  painterWeights?: WeightVariant;
}

/** What a finished Imagine run leaves to show. */
export interface ImagineOutput {
  settings: ImagineSettings;
  /** PNG bytes from the pipeline (tEXt chunks carry prompt, seed and settings). */
  png: Uint8Array;
  url: string;
  reasoning: string;
  answer: string;
  tokens: number | null;
  formatOk: boolean | null;
  timings: Record<string, number>;
  /** Cascade thinking's record: the text sent back and the second pass (null when cascade was off). */
  cascade: CascadeShown | null;
  /**
   * The pack's refusal (the pipeline's `refusal`): the views show this text instead of the picture. Absent or null:
   * a picture (also every history record made before packs could decline).
   */
  refusal?: string | null;
  /**
   * A `cascade` pack: the text its painter read (the reasoner's answer, in the painter's own template); absent or
   * null in a `mindomni` pack, whose painter reads the reasoner's hidden states.
   */
  painterText?: string | null;
}

/** What the views show of cascade thinking: the text sent back (and from where), the second pass's parts. */
export interface CascadeShown {
  prompt: string;
  /** 'answer', 'think' or 'text' (cascade.ts). */
  source: string;
  reasoning: string;
  answer: string;
}

export const IMAGINE_FIELDS = [
  'prompt',
  'systemPrompt',
  'steps',
  'guidance',
  'seed',
  'width',
  'height',
  'maxNewTokens',
] as const;

/** Milliseconds per stage of a painting run, as history and Compare show them. */
export function paintTimings(t: PaintTimingsReport): Record<string, number> {
  return {
    reason: t.reasonMs,
    ...(t.cascadeMs ? { cascade: t.cascadeMs } : {}),
    negative: t.negativeMs,
    image: t.imageMs,
    prepare: t.painterPrepareMs,
    steps: t.stepsMs,
    vae: t.vaeMs,
    png: t.pngMs,
    total: t.totalMs,
  };
}

/** The request for `settings`: the edited system prompt goes as the override of the one `cot` selects. */
export function imagineRequest(runId: string, pack: string, s: ImagineSettings): ImagineRequest {
  return {
    runId,
    pack,
    prompt: s.prompt,
    cot: s.cot,
    ...(s.cascade ? { cascade: true } : {}),
    prompts: {
      ...(s.cot ? { systemCot: s.systemPrompt } : { systemPlain: s.systemPrompt }),
      ...(s.userPrefix !== null ? { userPrefix: s.userPrefix } : {}),
    },
    steps: s.steps,
    guidance: s.guidance,
    seed: s.seed,
    width: s.width,
    height: s.height,
    maxNewTokens: s.maxNewTokens,
    ...(s.reasonerWeights ? { reasonerWeights: s.reasonerWeights } : {}),
    ...(s.painterWeights ? { weights: s.painterWeights } : {}),
  };
}

/**
 * Runs Imagine in the worker for `settings`, streaming into `stream`; the PNG comes back transferred. The worker call
 * of a run skeleton (`runSkeleton`, which guards it against a crash).
 */
export async function runImagine(
  worker: WorkerHandle,
  pack: string,
  settings: ImagineSettings,
  stream: RunStream,
  runId: string,
): Promise<Omit<ImagineOutput, 'url'>> {
  const r = await worker.imagine(imagineRequest(runId, pack, settings), stream.handle);
  return {
    settings,
    png: r.png,
    reasoning: r.reasoning,
    answer: r.answer,
    tokens: stream.tokens,
    formatOk: r.formatOk,
    timings: paintTimings(r.timings),
    cascade: cascadeShown(r.cascade),
    refusal: r.refusal,
    painterText: r.painterText,
  };
}

/** The refusal back from history's flat settings (null when the run was not declined). */
export function refusalFromSettings(s: Record<string, unknown>): string | null {
  return typeof s.refusal === 'string' ? s.refusal : null;
}

/** History's flat settings of a cascade run: the text sent back and the second pass's parts. */
export function cascadeSettings(c: CascadeShown | null): Record<string, string> {
  if (!c) return {};
  return { cascadePrompt: c.prompt, cascadeSource: c.source, cascadeReasoning: c.reasoning, cascadeAnswer: c.answer };
}

/** The cascade record back from history's flat settings (null when the run had none). */
export function cascadeFromSettings(s: Record<string, unknown>): CascadeShown | null {
  if (s.cascade !== true || typeof s.cascadePrompt !== 'string') return null;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    prompt: s.cascadePrompt,
    source: str(s.cascadeSource),
    reasoning: str(s.cascadeReasoning),
    answer: str(s.cascadeAnswer),
  };
}

/** A cascade run's second pass as the views show it (the pipeline's CascadeResult, flattened). */
export function cascadeShown(c: CascadeResult | null | undefined): CascadeShown | null {
  if (!c) return null;
  return { prompt: c.prompt, source: c.source, reasoning: c.second?.reasoning ?? '', answer: c.second?.answer ?? '' };
}

/** History's record of an Imagine run (inputs, settings, text, timings; the PNG as it came). */
export function imagineRecord(
  mode: 'imagine' | 'compare',
  out: Omit<ImagineOutput, 'url'>,
  extra: Record<string, number | string | boolean | null> = {},
): Omit<NewRun, 'pack'> {
  const s = out.settings;
  return {
    mode,
    inputs: {
      prompt: s.prompt,
      systemPrompt: s.systemPrompt,
      ...(s.userPrefix !== null ? { userPrefix: s.userPrefix } : {}),
    },
    settings: flatSettings({
      cot: s.cot,
      ...(s.cascade ? { cascade: true, ...cascadeSettings(out.cascade) } : {}),
      maxNewTokens: s.maxNewTokens,
      ...(s.reasonerWeights ? { reasonerWeights: s.reasonerWeights } : {}),
      ...(s.painterWeights ? { painterWeights: s.painterWeights } : {}),
      steps: s.steps,
      guidance: s.guidance,
      seed: s.seed,
      width: s.width,
      height: s.height,
      tokens: out.tokens,
      formatOk: out.formatOk,
      ...(out.refusal ? { refusal: out.refusal } : {}),
      ...(out.painterText ? { painterText: out.painterText } : {}),
      ...extra,
    }),
    reasoning: out.reasoning,
    answer: out.answer,
    timings: out.timings,
    image: out.png,
  };
}

/** The Imagine view's state: the form (validated as typed), the streamed run and its image. */
export class ImagineState extends RunForm {
  prompt = $state('');
  cot = $state(true);
  /** Cascade thinking (used only with chain of thought). */
  cascade = $state(false);
  systemCot = $state('');
  systemPlain = $state('');
  /** The start of the user turn (the pack's instruction prefix unless edited). */
  userPrefix = $state('');
  steps = $state('');
  guidance = $state('');
  seed = $state('');
  width = $state('');
  height = $state('');
  maxNewTokens = $state('');
  result = $state.raw<ImagineOutput | null>(null);
  /** The prompt of the run shown (as typed; rendered as text). */
  asked = $state('');
  /** Whether the last result is in history. */
  saved = $state(false);
  /** "Saved in history." or why the shown result is not in history and what to do. */
  saveNote = $state('');

  constructor(app: AppState) {
    super(app, new RunStream());
  }

  readonly systemPrompt = $derived(this.cot ? this.systemCot : this.systemPlain);

  readonly checks = $derived.by(() => ({
    prompt: validatePrompt(this.prompt, this.app.packInfo.limits),
    systemPrompt:
      this.systemPrompt.length > this.app.packInfo.limits.maxPromptChars
        ? { ok: false as const, error: 'The system prompt is too long.' }
        : { ok: true as const, value: this.systemPrompt },
    steps: validateSteps(this.steps, this.app.packInfo.limits),
    guidance: validateGuidance(this.guidance),
    seed: validateSeed(this.seed),
    width: validateSize(this.width, this.app.packInfo.limits, 'width'),
    height: validateSize(this.height, this.app.packInfo.limits, 'height'),
    maxNewTokens: validateMaxNewTokens(this.maxNewTokens, this.app.packInfo.limits),
  }));
  readonly problems = $derived(errorsOf(this.checks));

  /** Fills every field the user has not edited with the pack's defaults (once per pack). */
  applyDefaults(info: PackInfo): void {
    if (!this.newDefaults(`${info.id}:${info.manifestSha256}`)) return;
    const d = info.defaults;
    const set = (field: string, apply: () => void) => {
      if (!this.touched[field]) apply();
    };
    set('cot', () => (this.cot = d.cot));
    set('userPrefix', () => (this.userPrefix = info.prompts.instructionPrefix));
    set('systemPrompt', () => {
      this.systemCot = info.prompts.systemCot;
      this.systemPlain = info.prompts.systemPlain;
    });
    set('steps', () => (this.steps = String(d.steps)));
    set('guidance', () => (this.guidance = String(d.guidance)));
    set('seed', () => (this.seed = String(d.seed)));
    set('width', () => (this.width = String(d.width)));
    set('height', () => (this.height = String(d.height)));
    set('maxNewTokens', () => (this.maxNewTokens = String(d.maxNewTokens)));
  }

  resetUserPrefix(): void {
    this.userPrefix = this.app.packInfo.prompts.instructionPrefix;
  }

  resetSystemPrompt(): void {
    if (this.cot) this.systemCot = this.app.packInfo.prompts.systemCot;
    else this.systemPlain = this.app.packInfo.prompts.systemPlain;
  }

  rollSeed(): void {
    this.seed = String(randomSeed());
    this.touch('seed');
  }

  /** The validated settings, or null (and every message shown) when a field is wrong. */
  settings(): ImagineSettings | null {
    if (!this.ready()) return null;
    const c = this.checks;
    if (
      !c.prompt.ok ||
      !c.steps.ok ||
      !c.guidance.ok ||
      !c.seed.ok ||
      !c.width.ok ||
      !c.height.ok ||
      !c.maxNewTokens.ok
    )
      return null;
    const userPrefix = this.userPrefix === this.app.packInfo.prompts.instructionPrefix ? null : this.userPrefix;
    return {
      prompt: c.prompt.value,
      cot: this.cot,
      cascade: this.cot && this.cascade,
      systemPrompt: this.systemPrompt,
      userPrefix,
      steps: c.steps.value,
      guidance: c.guidance.value,
      seed: c.seed.value,
      width: c.width.value,
      height: c.height.value,
      maxNewTokens: c.maxNewTokens.value,
      reasonerWeights: this.app.reasonerWeights,
      painterWeights: this.app.painterWeights,
    };
  }

  async run(): Promise<void> {
    if (this.stream.running) return;
    const settings = this.settings();
    if (!settings) return;
    this.asked = settings.prompt;
    if (this.result) URL.revokeObjectURL(this.result.url);
    this.result = null;
    await this.launch('imagine', {
      call: (runId) => runImagine(this.app.worker, this.app.packId, settings, this.stream, runId),
      record: (out) => imagineRecord('imagine', out),
      done: (out, saved, note) => {
        this.saved = saved;
        this.saveNote = note;
        this.result = { ...out, url: pngUrl(out.png) };
        return { reasoning: out.reasoning, answer: out.answer };
      },
    });
  }
}
