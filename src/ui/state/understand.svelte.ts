import type { AppState, PackInfo } from './app.svelte';
import { RunForm } from './form.svelte';
import { ImageInputState } from './image_input.svelte';
import { RunStream } from './run.svelte';
import { flatSettings } from './persist';
import { inputPng } from '../image_png';
import type { UnderstandResult } from '../../pipeline/understand';
import {
  errorsOf,
  validateImageFile,
  validateMaxNewTokens,
  validatePrompt,
  type Check,
  type FileLike,
} from '../validate';

export interface UnderstandOutput {
  question: string;
  reasoning: string;
  answer: string;
  tokens: number;
  formatOk: boolean;
  timings: Record<string, number>;
}

export const UNDERSTAND_FIELDS = ['image', 'question', 'maxNewTokens'] as const;

/** The Understand view's state: image + question, the streamed reasoning and answer. */
export class UnderstandState extends RunForm {
  readonly image = new ImageInputState();
  question = $state('');
  cot = $state(true);
  maxNewTokens = $state('');
  result = $state.raw<UnderstandOutput | null>(null);
  /** The question of the run shown (as typed; rendered as text). */
  asked = $state('');
  saved = $state(false);
  /** "Saved in history." or why the shown result is not in history and what to do. */
  saveNote = $state('');

  constructor(app: AppState) {
    super(app, new RunStream());
  }

  readonly checks = $derived.by(() => ({
    // A pack that reads no images takes a question alone (the studio offers no image for it).
    image: !this.app.packInfo.vision
      ? ({ ok: true, value: null } as Check<FileLike | null>)
      : this.image.error
        ? { ok: false as const, error: this.image.error }
        : validateImageFile(this.image.file),
    question: validatePrompt(this.question, this.app.packInfo.limits, 'question'),
    maxNewTokens: validateMaxNewTokens(this.maxNewTokens, this.app.packInfo.limits),
  }));
  readonly problems = $derived(errorsOf(this.checks));

  applyDefaults(info: PackInfo): void {
    if (!this.newDefaults(`${info.id}:${info.manifestSha256}`)) return;
    if (!this.touched.cot) this.cot = info.defaults.cot;
    if (!this.touched.maxNewTokens) this.maxNewTokens = String(info.defaults.maxNewTokens);
  }

  async run(): Promise<void> {
    if (this.stream.running) return;
    if (!this.ready()) return;
    const file = this.app.packInfo.vision ? this.image.file! : null;
    const maxNewTokens = this.checks.maxNewTokens.ok ? this.checks.maxNewTokens.value : undefined;
    const question = this.question;
    const cot = this.cot;
    const reasonerWeights = this.app.reasonerWeights;
    this.asked = question;
    this.result = null;
    let png: Uint8Array | null = null;
    await this.launch('understand', {
      // The input as history will keep it (PNG), made before the run: an image history cannot keep is refused here.
      call: async (runId) => {
        png = file ? await inputPng(file) : null;
        const request = {
          runId,
          pack: this.app.packId,
          prompt: question,
          ...(file ? { image: file } : {}),
          cot,
          maxNewTokens,
          reasonerWeights,
        };
        return this.app.worker.understand(request, this.stream.handle);
      },
      record: async (r) => ({
        mode: 'understand',
        inputs: { question },
        settings: flatSettings({
          cot,
          maxNewTokens: maxNewTokens ?? null,
          reasonerWeights,
          tokens: r.tokenIds.length,
          formatOk: r.formatOk,
        }),
        reasoning: r.reasoning,
        answer: r.answer,
        timings: understandTimings(r.timings),
        inputImage: png,
      }),
      done: (r, saved, note) => {
        this.saved = saved;
        this.saveNote = note;
        this.result = {
          question,
          reasoning: r.reasoning,
          answer: r.answer,
          tokens: r.tokenIds.length,
          formatOk: r.formatOk,
          timings: understandTimings(r.timings),
        };
        return { reasoning: r.reasoning, answer: r.answer };
      },
      // The worker names the field `prompt`; this form calls it the question.
      failed: (err) => (this.runError = { ...err, field: err.field === 'prompt' ? 'question' : err.field }),
    });
  }
}

/** Milliseconds per stage of an Understand run, as history shows them. */
function understandTimings(t: UnderstandResult['timings']): Record<string, number> {
  return { prefill: t.prefillMs, decode: t.decodeMs, total: t.totalMs };
}
