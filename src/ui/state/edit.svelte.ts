import type { AppState, PackInfo } from './app.svelte';
import { FormBase, pngUrl } from './form.svelte';
import { ImageInputState } from './image_input.svelte';
import { RunStream, uiError } from './run.svelte';
import { RgError } from '../../errors';
import { errorsOf, randomSeed, validateGuidance, validateImageFile, validatePrompt, validateSeed, validateSteps, validateStrength } from '../validate';

export interface EditSettings {
  instruction: string;
  cot: boolean;
  strength: number;
  steps: number;
  guidance: number;
  seed: number;
}

export interface EditOutput {
  settings: EditSettings;
  png: Uint8Array;
  url: string;
  reasoning: string;
  answer: string;
}

export const EDIT_FIELDS = ['image', 'instruction', 'strength', 'steps', 'guidance', 'seed'] as const;

/** The Edit view's state: image + instruction + strength, the reasoning, then the edited image beside the original. */
export class EditState extends FormBase {
  readonly image = new ImageInputState();
  instruction = $state('');
  cot = $state(true);
  strength = $state('');
  steps = $state('');
  guidance = $state('');
  seed = $state('');
  readonly stream = new RunStream();
  result = $state.raw<EditOutput | null>(null);
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
  }));
  readonly problems = $derived(errorsOf(this.checks));

  applyDefaults(info: PackInfo): void {
    if (this.defaultsFrom === info.id) return;
    this.defaultsFrom = info.id;
    const d = info.defaults;
    if (!this.touched.cot) this.cot = d.cot;
    if (!this.touched.strength) this.strength = String(d.editStrength);
    if (!this.touched.steps) this.steps = String(d.steps);
    if (!this.touched.guidance) this.guidance = String(d.guidance);
    if (!this.touched.seed) this.seed = String(d.seed);
  }

  rollSeed(): void {
    this.seed = String(randomSeed());
    this.touch('seed');
  }

  async run(): Promise<void> {
    if (this.stream.running || !this.ready()) return;
    const c = this.checks;
    if (!c.instruction.ok || !c.strength.ok || !c.steps.ok || !c.guidance.ok || !c.seed.ok) return;
    const settings: EditSettings = { instruction: c.instruction.value, cot: this.cot, strength: c.strength.value, steps: c.steps.value, guidance: c.guidance.value, seed: c.seed.value };
    this.stream.start('edit');
    try {
      // Waits on the painter pipeline's edit() in src/worker/api.ts; never a made-up result.
      const out: Omit<EditOutput, 'url'> = await Promise.reject(
        new RgError('RUNTIME', `The Edit pipeline is not in this build yet (no edit() in the worker contract), so "${settings.instruction.slice(0, 40)}" was not run`, {
          hint: 'Understand works already; Edit starts working as soon as the painter pipeline lands.',
        }),
      );
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
