import { proxy } from 'comlink';
import type { AppState, PackInfo } from './app.svelte';
import { FormBase } from './form.svelte';
import { ImageInputState } from './image_input.svelte';
import { RunStream, uiError, unlessCrash } from './run.svelte';
import { filePng, flatSettings, persistRun } from './persist';
import { errorsOf, validateImageFile, validateMaxNewTokens, validatePrompt } from '../validate';

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
export class UnderstandState extends FormBase {
  readonly image = new ImageInputState();
  question = $state('');
  cot = $state(true);
  maxNewTokens = $state('');
  readonly stream = new RunStream();
  result = $state.raw<UnderstandOutput | null>(null);
  /** The question of the run shown (as typed; rendered as text). */
  asked = $state('');
  saved = $state(false);
  private defaultsFrom: string | null = null;

  private readonly app: AppState;

  constructor(app: AppState) {
    super();
    this.app = app;
  }

  readonly checks = $derived.by(() => ({
    image: this.image.error ? { ok: false as const, error: this.image.error } : validateImageFile(this.image.file),
    question: validatePrompt(this.question, this.app.packInfo.limits, 'question'),
    maxNewTokens: validateMaxNewTokens(this.maxNewTokens, this.app.packInfo.limits),
  }));
  readonly problems = $derived(errorsOf(this.checks));

  applyDefaults(info: PackInfo): void {
    const from = `${info.id}:${info.manifestSha256}`;
    if (this.defaultsFrom === from) return;
    this.defaultsFrom = from;
    if (!this.touched.cot) this.cot = info.defaults.cot;
    if (!this.touched.maxNewTokens) this.maxNewTokens = String(info.defaults.maxNewTokens);
  }

  async run(): Promise<void> {
    if (this.stream.running) return;
    if (!this.ready()) return;
    const file = this.image.file!;
    const maxNewTokens = this.checks.maxNewTokens.ok ? this.checks.maxNewTokens.value : undefined;
    const question = this.question;
    const runId = this.stream.start('understand');
    this.asked = question;
    this.result = null;
    try {
      const r = await unlessCrash(
        this.app.worker,
        this.app.worker.api.understand({ runId, pack: this.app.packId, prompt: question, image: file, cot: this.cot, maxNewTokens }, proxy(this.stream.handle)),
      );
      this.saved = await persistRun(this.app, {
        mode: 'understand',
        inputs: { question },
        settings: flatSettings({ cot: this.cot, maxNewTokens: maxNewTokens ?? null, tokens: r.tokenIds.length, formatOk: r.formatOk }),
        reasoning: r.reasoning,
        answer: r.answer,
        timings: { prefill: r.timings.prefillMs, decode: r.timings.decodeMs, total: r.timings.totalMs },
        inputImage: await filePng(file),
      });
      this.result = { question, reasoning: r.reasoning, answer: r.answer, tokens: r.tokenIds.length, formatOk: r.formatOk, timings: { prefill: r.timings.prefillMs, decode: r.timings.decodeMs, total: r.timings.totalMs } };
      this.stream.finish({ reasoning: r.reasoning, answer: r.answer });
    } catch (e) {
      const err = this.stream.fail(e);
      if (err.code !== 'CANCELLED') this.runError = { ...err, field: err.field === 'prompt' ? 'question' : err.field };
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
