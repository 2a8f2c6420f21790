import type { WeightVariant } from '../../packs/manifest';
import type { AppState, PackInfo } from './app.svelte';
import { RunForm, pngUrl } from './form.svelte';
import { ImageInputState } from './image_input.svelte';
import { RunStream } from './run.svelte';
import { paintTimings } from './imagine.svelte';
import { flatSettings } from './persist';
import { inputPng } from '../image_png';
import {
  errorsOf,
  randomSeed,
  validateGuidance,
  validateMaxNewTokens,
  validateImageFile,
  validatePrompt,
  validateSeed,
  validateSteps,
  validateStrength,
} from '../validate';

export interface EditSettings {
  instruction: string;
  cot: boolean;
  strength: number;
  steps: number;
  guidance: number;
  seed: number;
  maxNewTokens: number;
  /** The reasoner engine's weight format (the header's picker). */
  reasonerWeights: WeightVariant;
  /** The painter's weight file (the header's picker; the request's `weights`). */
  painterWeights: WeightVariant;
}

export interface EditOutput {
  settings: EditSettings;
  png: Uint8Array;
  url: string;
  reasoning: string;
  answer: string;
  /** The pack's refusal (the pipeline's `refusal`): shown instead of the edited picture. */
  refusal: string | null;
}

export const EDIT_FIELDS = ['image', 'instruction', 'strength', 'steps', 'guidance', 'seed', 'maxNewTokens'] as const;

/** The Edit view's state: image + instruction + strength, the reasoning, then the edited image beside the original. */
export class EditState extends RunForm {
  readonly image = new ImageInputState();
  instruction = $state('');
  cot = $state(true);
  strength = $state('');
  steps = $state('');
  guidance = $state('');
  seed = $state('');
  maxNewTokens = $state('');
  result = $state.raw<EditOutput | null>(null);
  saved = $state(false);
  /** "Saved in history." or why the shown result is not in history and what to do. */
  saveNote = $state('');

  constructor(app: AppState) {
    super(app, new RunStream());
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
    if (!this.newDefaults(`${info.id}:${info.manifestSha256}`)) return;
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
    if (!c.instruction.ok || !c.strength.ok || !c.steps.ok || !c.guidance.ok || !c.seed.ok || !c.maxNewTokens.ok)
      return;
    const settings: EditSettings = {
      instruction: c.instruction.value,
      cot: this.cot,
      strength: c.strength.value,
      steps: c.steps.value,
      guidance: c.guidance.value,
      seed: c.seed.value,
      maxNewTokens: c.maxNewTokens.value,
      reasonerWeights: this.app.reasonerWeights,
      painterWeights: this.app.painterWeights,
    };
    const file = this.image.file!;
    if (this.result) URL.revokeObjectURL(this.result.url);
    this.result = null;
    let png: Uint8Array | null = null;
    await this.launch('edit', {
      // The input as history will keep it (PNG), made before the run: an image history cannot keep is refused here.
      call: async (runId) => {
        png = await inputPng(file);
        return this.app.worker.edit(
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
            reasonerWeights: settings.reasonerWeights,
            weights: settings.painterWeights,
          },
          this.stream.handle,
        );
      },
      record: async (r) => ({
        mode: 'edit',
        inputs: { instruction: settings.instruction },
        settings: flatSettings({
          ...settings,
          instruction: undefined,
          width: r.width,
          height: r.height,
          formatOk: r.formatOk,
          ...(r.refusal ? { refusal: r.refusal } : {}),
        }),
        reasoning: r.reasoning,
        answer: r.answer,
        timings: paintTimings(r.timings),
        image: r.png,
        inputImage: png,
      }),
      done: (r, saved, note) => {
        this.saved = saved;
        this.saveNote = note;
        this.result = {
          settings,
          png: r.png,
          reasoning: r.reasoning,
          answer: r.answer,
          refusal: r.refusal,
          url: pngUrl(r.png),
        };
        return { reasoning: r.reasoning, answer: r.answer };
      },
    });
  }
}
