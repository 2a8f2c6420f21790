import { proxy } from 'comlink';
import type { WorkerHandle } from '../../worker/client';
import type { AppState, PackInfo } from './app.svelte';
import { FormBase, pngUrl } from './form.svelte';
import { RunStream, uiError } from './run.svelte';
import { RgError } from '../../errors';
import { errorsOf, randomSeed, validateGuidance, validatePrompt, validateSeed, validateSize, validateSteps } from '../validate';

/** Imagine's settings once validated: what a run (and a Compare cell) is made of. */
export interface ImagineSettings {
  prompt: string;
  cot: boolean;
  /** The system prompt of this run (the CoT one when `cot`, else the plain one). */
  systemPrompt: string;
  steps: number;
  guidance: number;
  seed: number;
  width: number;
  height: number;
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
}

export const IMAGINE_FIELDS = ['prompt', 'systemPrompt', 'steps', 'guidance', 'seed', 'width', 'height'] as const;

/**
 * Runs Imagine in the worker for `settings` and streams into `stream`. Throws RgError('RUNTIME') while the Imagine
 * pipeline has not landed in the worker contract (src/worker/api.ts) — never a made-up result.
 */
export async function runImagine(worker: WorkerHandle, pack: string, settings: ImagineSettings, stream: RunStream, runId: string): Promise<Omit<ImagineOutput, 'url'>> {
  void worker;
  void pack;
  void stream;
  void runId;
  void proxy;
  throw new RgError('RUNTIME', `The Imagine pipeline is not in this build yet (no imagine() in the worker contract), so "${settings.prompt.slice(0, 40)}" was not run`, {
    hint: 'Understand works already; Imagine, Edit and Compare start working as soon as the painter pipeline lands.',
  });
}

/** The Imagine view's state: the form (validated as typed), the streamed run and its image. */
export class ImagineState extends FormBase {
  prompt = $state('');
  cot = $state(true);
  systemCot = $state('');
  systemPlain = $state('');
  steps = $state('');
  guidance = $state('');
  seed = $state('');
  width = $state('');
  height = $state('');
  readonly stream = new RunStream();
  result = $state.raw<ImagineOutput | null>(null);
  /** The prompt of the run shown (as typed; rendered as text). */
  asked = $state('');
  private defaultsFrom: string | null = null;

  private readonly app: AppState;

  constructor(app: AppState) {
    super();
    this.app = app;
  }

  readonly systemPrompt = $derived(this.cot ? this.systemCot : this.systemPlain);

  readonly checks = $derived.by(() => ({
    prompt: validatePrompt(this.prompt, this.app.packInfo.limits),
    systemPrompt: this.systemPrompt.length > this.app.packInfo.limits.maxPromptChars ? { ok: false as const, error: 'The system prompt is too long.' } : { ok: true as const, value: this.systemPrompt },
    steps: validateSteps(this.steps, this.app.packInfo.limits),
    guidance: validateGuidance(this.guidance),
    seed: validateSeed(this.seed),
    width: validateSize(this.width, this.app.packInfo.limits, 'width'),
    height: validateSize(this.height, this.app.packInfo.limits, 'height'),
  }));
  readonly problems = $derived(errorsOf(this.checks));

  /** Fills every field the user has not edited with the pack's defaults (once per pack). */
  applyDefaults(info: PackInfo): void {
    if (this.defaultsFrom === info.id) return;
    this.defaultsFrom = info.id;
    const d = info.defaults;
    const set = (field: string, apply: () => void) => {
      if (!this.touched[field]) apply();
    };
    set('cot', () => (this.cot = d.cot));
    set('systemPrompt', () => {
      this.systemCot = info.prompts.systemCot;
      this.systemPlain = info.prompts.systemPlain;
    });
    set('steps', () => (this.steps = String(d.steps)));
    set('guidance', () => (this.guidance = String(d.guidance)));
    set('seed', () => (this.seed = String(d.seed)));
    set('width', () => (this.width = String(d.width)));
    set('height', () => (this.height = String(d.height)));
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
    if (!c.prompt.ok || !c.steps.ok || !c.guidance.ok || !c.seed.ok || !c.width.ok || !c.height.ok) return null;
    return { prompt: c.prompt.value, cot: this.cot, systemPrompt: this.systemPrompt, steps: c.steps.value, guidance: c.guidance.value, seed: c.seed.value, width: c.width.value, height: c.height.value };
  }

  async run(): Promise<void> {
    if (this.stream.running) return;
    const settings = this.settings();
    if (!settings) return;
    const runId = this.stream.start('imagine');
    this.asked = settings.prompt;
    try {
      const out = await runImagine(this.app.worker, this.app.packId, settings, this.stream, runId);
      if (this.result) URL.revokeObjectURL(this.result.url);
      this.result = { ...out, url: pngUrl(out.png) };
      this.stream.finish({ reasoning: out.reasoning, answer: out.answer });
    } catch (e) {
      const err = this.stream.fail(e);
      if (err.code !== 'CANCELLED') this.runError = uiError(e);
    }
  }

  async cancel(): Promise<void> {
    const id = this.stream.runId;
    if (!id || !this.stream.running) return;
    try {
      await this.app.worker.api.cancel(id);
    } catch (e) {
      this.runError = uiError(e);
    }
  }
}
