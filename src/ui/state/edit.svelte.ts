import type { AppState, PackInfo } from './app.svelte';
import { FormBase, pngUrl } from './form.svelte';
import { ImageInputState } from './image_input.svelte';
import { RunStream, uiError, unlessCrash } from './run.svelte';
import { proxy } from 'comlink';
import { paintTimings } from './imagine.svelte';
import { filePng, flatSettings, persistRun } from './persist';
import { errorsOf, randomSeed, validateGuidance, validateMaxNewTokens, validateImageFile, validatePrompt, validateSeed, validateSteps, validateStrength } from '../validate';

export interface EditSettings {
  instruction: string;
  cot: boolean;
  strength: number;
  steps: number;
  guidance: number;
  seed: number;
  maxNewTokens: number;
}

export interface EditOutput {
  settings: EditSettings;
  png: Uint8Array;
  url: string;
  reasoning: string;
  answer: string;
}

export const EDIT_FIELDS = ['image', 'instruction', 'strength', 'steps', 'guidance', 'seed', 'maxNewTokens'] as const;

/** The Edit view's state: image + instruction + strength, the reasoning, then the edited image beside the original. */
export class EditState extends FormBase {
  readonly image = new ImageInputState();
  instruction = $state('');
  cot = $state(true);
  strength = $state('');
  steps = $state('');
  guidance = $state('');
  seed = $state('');
  maxNewTokens = $state('');
  readonly stream = new RunStream();
  result = $state.raw<EditOutput | null>(null);
  saved = $state(false);
  private defaultsFrom: string | null = null;

  private readonly app: AppState;

  constructor(app: AppState) {
    super();
    this.app = app;
  }

  readonly checks = $derived.by(() => ({
    image: this.image.error ? { ok: false as const, error: this.image.error } : validateImageFile(this.image.file),
    instruction: validatePrompt(this.instruction, this.app.packInfo.limits, 'instruction'),
    strength: validateStrength(this.strength),
    steps: validateSteps(this.steps, this.app.packInfo.limits),
    guidance: validateGuidance(this.guidance),
    seed: validateSeed(this.seed),
    maxNewTokens: validateMaxNewTokens(this.maxNewTokens, this.app.packInfo.limits),
  }));
  readonly problems = $derived(errorsOf(this.checks));

  applyDefaults(info: PackInfo): void {
    const from = `${info.id}:${info.manifestSha256}`;
    if (this.defaultsFrom === from) return;
    this.defaultsFrom = from;
    const d = info.defaults;
    if (!this.touched.cot) this.cot = d.cot;
    if (!this.touched.strength) this.strength = String(d.editStrength);
    if (!this.touched.steps) this.steps = String(d.steps);
    if (!this.touched.guidance) this.guidance = String(d.guidance);
    if (!this.touched.seed) this.seed = String(d.seed);
    if (!this.touched.maxNewTokens) this.maxNewTokens = String(d.maxNewTokens);
  }

  rollSeed(): void {
    this.seed = String(randomSeed());
    this.touch('seed');
  }

  async run(): Promise<void> {
    if (this.stream.running || !this.ready()) return;
    const c = this.checks;
    if (!c.instruction.ok || !c.strength.ok || !c.steps.ok || !c.guidance.ok || !c.seed.ok || !c.maxNewTokens.ok) return;
    const settings: EditSettings = { instruction: c.instruction.value, cot: this.cot, strength: c.strength.value, steps: c.steps.value, guidance: c.guidance.value, seed: c.seed.value, maxNewTokens: c.maxNewTokens.value };
    const file = this.image.file!;
    const runId = this.stream.start('edit');
    if (this.result) URL.revokeObjectURL(this.result.url);
    this.result = null;
    try {
      const r = await unlessCrash(
        this.app.worker,
        this.app.worker.api.edit(
          {
            runId,
            pack: this.app.packId,
            instruction: settings.instruction,
            image: file,
            cot: settings.cot,
            strength: settings.strength,
            steps: settings.steps,
            guidance: settings.guidance,
            seed: settings.seed,
            maxNewTokens: settings.maxNewTokens,
          },
          proxy(this.stream.handle),
        ),
      );
      const out: Omit<EditOutput, 'url'> = { settings, png: r.png, reasoning: r.reasoning, answer: r.answer };
      this.saved = await persistRun(this.app, {
        mode: 'edit',
        inputs: { instruction: settings.instruction },
        settings: flatSettings({ ...settings, instruction: undefined, width: r.width, height: r.height, formatOk: r.formatOk }),
        reasoning: r.reasoning,
        answer: r.answer,
        timings: paintTimings(r.timings),
        image: r.png,
        inputImage: await filePng(file),
      });
      this.result = { ...out, url: pngUrl(out.png) };
      this.stream.finish({ reasoning: out.reasoning, answer: out.answer });
    } catch (e) {
      const err = this.stream.fail(e);
      if (err.code !== 'CANCELLED') this.runError = uiError(e);
    }
  }

  async cancel(): Promise<void> {
    try {
      await this.stream.cancel(this.app.worker.api);
    } catch (e) {
      this.runError = uiError(e);
    }
  }
}
