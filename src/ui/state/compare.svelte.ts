import { diffWords, type Change } from 'diff';
import { strToU8, zipSync } from 'fflate';
import type { AppState, PackInfo } from './app.svelte';
import { pngUrl } from './form.svelte';
import {
  cascadeFromSettings,
  refusalFromSettings,
  imagineRecord,
  runImagine,
  type ImagineOutput,
  type ImagineSettings,
} from './imagine.svelte';
import { RunStream, runSkeleton, type UiError } from './run.svelte';
import {
  CompareConfigSchema,
  MAX_SEEDS,
  MAX_VARIANTS,
  decodeConfig,
  encodeConfig,
  type CompareConfig,
  type VariantConfig,
} from './compare_config';
import { listRuns, getRun } from '../../store/history';
import {
  errorsOf,
  validateGuidance,
  validateMaxNewTokens,
  validatePrompt,
  validateSeedList,
  validateSize,
  validateSteps,
} from '../validate';

export type CellStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** One variant (a row of the grid): prompt, chain of thought on/off, its system prompt and settings. */
export class Variant {
  private readonly app: AppState;
  label = $state('');
  prompt = $state('');
  cot = $state(true);
  /** Cascade thinking (used only with chain of thought). */
  cascade = $state(false);
  systemPrompt = $state('');
  userPrefix = $state('');
  steps = $state('');
  guidance = $state('');
  width = $state('');
  height = $state('');
  maxNewTokens = $state('');

  constructor(app: AppState, c: VariantConfig) {
    this.app = app;
    this.label = c.label;
    this.prompt = c.prompt;
    this.cot = c.cot;
    this.cascade = c.cascade ?? false;
    this.systemPrompt = c.systemPrompt;
    this.userPrefix = c.userPrefix ?? app.packInfo.prompts.instructionPrefix;
    this.steps = c.steps;
    this.guidance = c.guidance;
    this.width = c.width;
    this.height = c.height;
    this.maxNewTokens = c.maxNewTokens ?? String(app.packInfo.defaults.maxNewTokens);
  }

  /** Moves every field still holding `from`'s default to `to`'s; a field the user changed keeps its value. */
  followDefaults(from: PackInfo, to: PackInfo): void {
    const keep = (value: string, a: string, b: string) => (value === a ? b : value);
    const [f, t] = [from.defaults, to.defaults];
    this.prompt = keep(this.prompt, from.inputs.prompt.initial, to.inputs.prompt.initial);
    const system = (i: PackInfo) => (this.cot ? i.prompts.systemCot : i.prompts.systemPlain);
    this.systemPrompt = keep(this.systemPrompt, system(from), system(to));
    this.userPrefix = keep(this.userPrefix, from.prompts.instructionPrefix, to.prompts.instructionPrefix);
    this.steps = keep(this.steps, String(f.steps), String(t.steps));
    this.guidance = keep(this.guidance, String(f.guidance), String(t.guidance));
    this.width = keep(this.width, String(f.width), String(t.width));
    this.height = keep(this.height, String(f.height), String(t.height));
    this.maxNewTokens = keep(this.maxNewTokens, String(f.maxNewTokens), String(t.maxNewTokens));
  }

  readonly checks = $derived.by(() => ({
    prompt: validatePrompt(this.prompt, this.app.packInfo.limits),
    steps: validateSteps(this.steps, this.app.packInfo.limits),
    guidance: validateGuidance(this.guidance),
    width: validateSize(this.width, this.app.packInfo.limits, 'width'),
    height: validateSize(this.height, this.app.packInfo.limits, 'height'),
    maxNewTokens: validateMaxNewTokens(this.maxNewTokens, this.app.packInfo.limits),
  }));
  readonly problems = $derived(errorsOf(this.checks));

  config(): VariantConfig {
    return {
      label: this.label,
      prompt: this.prompt,
      cot: this.cot,
      ...(this.cascade ? { cascade: true } : {}),
      systemPrompt: this.systemPrompt,
      userPrefix: this.userPrefix,
      steps: this.steps,
      guidance: this.guidance,
      width: this.width,
      height: this.height,
      maxNewTokens: this.maxNewTokens,
    };
  }

  settings(seed: number): ImagineSettings | null {
    const c = this.checks;
    if (!c.prompt.ok || !c.steps.ok || !c.guidance.ok || !c.width.ok || !c.height.ok || !c.maxNewTokens.ok) return null;
    const userPrefix = this.userPrefix === this.app.packInfo.prompts.instructionPrefix ? null : this.userPrefix;
    return {
      reasonerWeights: this.app.reasonerWeights,
      painterWeights: this.app.painterWeights,
      prompt: c.prompt.value,
      cot: this.cot,
      cascade: this.cot && this.cascade,
      systemPrompt: this.systemPrompt,
      userPrefix,
      steps: c.steps.value,
      guidance: c.guidance.value,
      seed,
      width: c.width.value,
      height: c.height.value,
      maxNewTokens: c.maxNewTokens.value,
    };
  }
}

/** One cell: a variant at a seed. */
export class CompareCell {
  status = $state<CellStatus>('queued');
  readonly stream = new RunStream();
  output = $state.raw<ImagineOutput | null>(null);
  error = $state<UiError | null>(null);
  /** Empty once saved; else why the cell shown is not in history (a reload of the link cannot restore it). */
  unsaved = $state('');

  readonly variant: number;
  readonly seed: number;
  readonly key: string;

  constructor(variant: number, seed: number) {
    this.variant = variant;
    this.seed = seed;
    this.key = `v${variant + 1}-s${seed}`;
  }

  /**
   * Whether the completion matched the format reward's regex (`<think>…</think><answer>…</answer>`), as the pipeline
   * judged it on the raw completion; null when unknown (a restored run that did not record it). It cannot be
   * re-derived from the parsed reasoning and answer: wrapping them in the tags again always matches.
   */
  readonly formatOk = $derived(this.output ? this.output.formatOk : null);
}

function newGridId(): string {
  return crypto.randomUUID().replace(/-/g, '').slice(0, 16);
}

/** The Compare view's state: variants × seeds, a queue that fills the grid cell by cell, diff, export, share. */
export class CompareState {
  variants = $state<Variant[]>([]);
  seeds = $state('42, 7');
  grid = $state(newGridId());
  cells = $state<CompareCell[][]>([]);
  /** Up to two selected cells (their keys), for the reasoning diff. */
  selected = $state<string[]>([]);
  submitted = $state(false);
  running = $state(false);
  message = $state<{ kind: 'ok' | 'error' | 'info'; text: string } | null>(null);
  private stopRequested = false;
  private current: CompareCell | null = null;
  /** The pack info whose defaults the variants' untouched fields hold. */
  private defaultsOf: PackInfo;

  constructor(private readonly app: AppState) {
    this.defaultsOf = app.packInfo;
    this.variants = [this.variantFrom({ cot: true, label: 'CoT' }), this.variantFrom({ cot: false, label: 'No CoT' })];
  }

  private variantFrom(over: Partial<VariantConfig>): Variant {
    const info = this.app.packInfo;
    const d = info.defaults;
    const cot = over.cot ?? true;
    return new Variant(this.app, {
      label: '',
      prompt: info.inputs.prompt.initial,
      cot,
      systemPrompt: cot ? info.prompts.systemCot : info.prompts.systemPlain,
      userPrefix: info.prompts.instructionPrefix,
      steps: String(d.steps),
      guidance: String(d.guidance),
      width: String(d.width),
      height: String(d.height),
      maxNewTokens: String(d.maxNewTokens),
      ...over,
    });
  }

  readonly seedCheck = $derived(validateSeedList(this.seeds, MAX_SEEDS));
  readonly problems = $derived({
    ...(this.seedCheck.ok ? {} : { seeds: this.seedCheck.error }),
    ...Object.fromEntries(
      this.variants.flatMap((v, i) => Object.entries(v.problems).map(([k, m]) => [`${i}.${k}`, m])),
    ),
  } as Record<string, string>);

  readonly flatCells = $derived(this.cells.flat());
  readonly doneCount = $derived(this.flatCells.filter((c) => c.status === 'done').length);
  readonly selectedCells = $derived(
    this.selected.map((k) => this.flatCells.find((c) => c.key === k)).filter((c): c is CompareCell => !!c),
  );
  /**
   * Word-level diff of the two selected cells' reasoning (first selected = removed, second = added). When neither
   * has any reasoning (no `<think>` block, e.g. CoT off), their answers are diffed instead, and `of` says so.
   */
  readonly diff = $derived.by((): { of: 'reasoning' | 'answer'; parts: Change[] } | null => {
    const [a, b] = this.selectedCells;
    if (!a?.output || !b?.output) return null;
    if (!a.output.reasoning.trim() && !b.output.reasoning.trim())
      return { of: 'answer', parts: diffWords(a.output.answer, b.output.answer) };
    return { of: 'reasoning', parts: diffWords(a.output.reasoning, b.output.reasoning) };
  });

  /**
   * Moves the variants' default fields to the selected pack's (once its manifest is read, and on a pack switch):
   * prompt, system prompt, prefix and settings the user left as they were; edited ones stay. A grid already run
   * keeps the values it ran with.
   */
  applyDefaults(): void {
    const next = this.app.packInfo;
    if (this.cells.length || next === this.defaultsOf) return;
    for (const v of this.variants) v.followDefaults(this.defaultsOf, next);
    this.defaultsOf = next;
  }

  /** Puts `prompt` (one of the pack's examples) in every variant, the grid's usual starting point. */
  useExample(prompt: string): void {
    for (const v of this.variants) v.prompt = prompt;
  }

  addVariant(): void {
    if (this.variants.length >= MAX_VARIANTS) return;
    const last = this.variants.at(-1);
    this.variants.push(
      new Variant(this.app, {
        ...(last ? last.config() : this.variantFrom({}).config()),
        label: `Variant ${this.variants.length + 1}`,
      }),
    );
  }

  removeVariant(i: number): void {
    if (this.variants.length > 1) this.variants.splice(i, 1);
  }

  setCot(v: Variant, cot: boolean): void {
    const info = this.app.packInfo.prompts;
    if (v.systemPrompt === (cot ? info.systemPlain : info.systemCot))
      v.systemPrompt = cot ? info.systemCot : info.systemPlain;
    v.cot = cot;
  }

  errorFor(key: string): string | undefined {
    return this.submitted ? this.problems[key] : undefined;
  }

  config(): CompareConfig {
    return { v: 1, variants: this.variants.map((v) => v.config()), seeds: this.seeds, grid: this.grid };
  }

  /** The shareable link's query (`c=` configuration); the images never travel in it. */
  linkQuery(): Record<string, string> {
    return { c: encodeConfig(this.config()) };
  }

  /** Loads a configuration (from a link); false with a message when the link is refused. */
  loadLink(encoded: string): boolean {
    if (this.running) return false;
    const r = decodeConfig(encoded);
    if (!r.ok) {
      this.message = { kind: 'error', text: r.error };
      return false;
    }
    if (r.value.grid === this.grid && this.cells.length) return true;
    this.variants = r.value.variants.map((c) => new Variant(this.app, c));
    this.seeds = r.value.seeds;
    this.grid = r.value.grid;
    this.cells = [];
    this.selected = [];
    return true;
  }

  private buildCells(seeds: number[]): void {
    this.cells = this.variants.map((_, vi) => seeds.map((s) => new CompareCell(vi, s)));
    this.selected = [];
  }

  /** Queues every cell and runs them one after another (the worker runs one pipeline at a time). */
  async run(): Promise<void> {
    if (this.running) return;
    this.submitted = true;
    this.message = null;
    if (Object.keys(this.problems).length || !this.seedCheck.ok) {
      this.message = { kind: 'error', text: 'Fix the highlighted fields; no cell was run.' };
      return;
    }
    const seeds = this.seedCheck.value;
    if (this.cells.length) this.grid = newGridId();
    this.buildCells(seeds);
    CompareConfigSchema.parse(this.config());
    this.running = true;
    this.stopRequested = false;
    try {
      for (const cell of this.flatCells) {
        if (this.stopRequested) {
          cell.status = 'cancelled';
          continue;
        }
        await this.runCell(cell);
      }
    } finally {
      this.running = false;
      this.current = null;
    }
    const failed = this.flatCells.filter((c) => c.status === 'failed').length;
    this.message = failed
      ? {
          kind: 'error',
          text: `${this.doneCount} of ${this.flatCells.length} cells finished; ${failed} failed (see each cell).`,
        }
      : {
          kind: this.stopRequested ? 'info' : 'ok',
          text:
            `${this.doneCount} of ${this.flatCells.length} cells finished` +
            `${this.stopRequested ? ' (stopped)' : ''}.`,
        };
  }

  private async runCell(cell: CompareCell): Promise<void> {
    const variant = this.variants[cell.variant]!;
    const settings = variant.settings(cell.seed);
    if (!settings) {
      cell.status = 'failed';
      return;
    }
    cell.status = 'running';
    this.current = cell;
    // Saved before it is shown, tagged with the grid id, so a reload of this link restores the cell.
    const label = variant.label || `Variant ${cell.variant + 1}`;
    await runSkeleton(this.app, cell.stream, 'compare', {
      call: (runId) => runImagine(this.app.worker, this.app.packId, settings, cell.stream, runId),
      record: (out) => imagineRecord('compare', out, { grid: this.grid, variant: cell.variant, label }),
      done: (out, saved, note) => {
        cell.unsaved = saved ? '' : note;
        cell.output = { ...out, url: pngUrl(out.png) };
        cell.status = 'done';
        return { reasoning: out.reasoning, answer: out.answer };
      },
      failed: (err) => {
        cell.status = 'failed';
        cell.error = err;
      },
      cancelled: () => {
        cell.status = 'cancelled';
        cell.error = null;
      },
    });
  }

  /** Stops the queue: the running cell is cancelled, queued cells are marked cancelled. */
  async cancel(): Promise<void> {
    this.stopRequested = true;
    const id = this.current?.stream.runId;
    if (id) await this.app.worker.api.cancel(id).catch(() => undefined);
  }

  /** Rebuilds the grid of `this.grid` from the runs saved in history (after a reload of the link). */
  async restore(): Promise<number> {
    const seeds = this.seedCheck.ok ? this.seedCheck.value : [];
    const saved = (await listRuns()).filter((r) => r.mode === 'compare' && r.settings.grid === this.grid);
    if (!saved.length || this.running) return 0;
    if (!this.cells.length) this.buildCells(seeds);
    let n = 0;
    for (const meta of saved) {
      const cell = this.flatCells.find((c) => c.variant === meta.settings.variant && c.seed === meta.settings.seed);
      if (!cell || cell.output) continue;
      const run = await getRun(meta.id);
      if (!run?.image) continue;
      const s = meta.settings;
      const settings: ImagineSettings = {
        prompt: meta.inputs.prompt ?? '',
        systemPrompt: meta.inputs.systemPrompt ?? '',
        userPrefix: meta.inputs.userPrefix ?? null,
        cot: s.cot === true,
        cascade: s.cascade === true,
        steps: Number(s.steps),
        guidance: Number(s.guidance),
        seed: Number(s.seed),
        width: Number(s.width),
        height: Number(s.height),
        maxNewTokens: Number(s.maxNewTokens),
      };
      cell.output = {
        settings,
        png: run.image,
        url: pngUrl(run.image),
        reasoning: meta.reasoning,
        answer: meta.answer,
        tokens: typeof s.tokens === 'number' ? s.tokens : null,
        formatOk: typeof s.formatOk === 'boolean' ? s.formatOk : null,
        timings: meta.timings,
        cascade: cascadeFromSettings(s),
        refusal: refusalFromSettings(s),
      };
      cell.stream.finish({ reasoning: meta.reasoning, answer: meta.answer });
      cell.status = 'done';
      n++;
    }
    if (n) this.message = { kind: 'info', text: `Restored ${n} cell${n === 1 ? '' : 's'} of this grid from history.` };
    return n;
  }

  toggleSelect(key: string): void {
    if (this.selected.includes(key)) this.selected = this.selected.filter((k) => k !== key);
    else this.selected = [...this.selected.slice(-1), key];
  }

  /** The grid as a zip: grid.json listing every cell, and one PNG per finished cell. */
  exportZip(): Uint8Array {
    const files: Record<string, Uint8Array> = {};
    const cells = this.flatCells.map((c) => {
      const v = this.variants[c.variant]!;
      const image = c.output ? `images/${c.key}.png` : null;
      if (c.output && image) files[image] = c.output.png;
      return {
        key: c.key,
        variant: c.variant,
        label: v.label || `Variant ${c.variant + 1}`,
        seed: c.seed,
        status: c.status,
        prompt: c.output?.settings.prompt ?? v.prompt,
        systemPrompt: c.output?.settings.systemPrompt ?? v.systemPrompt,
        userPrefix: c.output
          ? (c.output.settings.userPrefix ?? this.app.packInfo.prompts.instructionPrefix)
          : v.userPrefix,
        cot: c.output?.settings.cot ?? v.cot,
        cascade: c.output?.settings.cascade ?? (v.cot && v.cascade),
        secondPass: c.output?.cascade ?? null,
        settings: c.output?.settings ?? null,
        reasoning: c.output?.reasoning ?? null,
        answer: c.output?.answer ?? null,
        refusal: c.output?.refusal ?? null,
        tokens: c.output?.tokens ?? null,
        formatOk: c.formatOk,
        timings: c.output?.timings ?? null,
        image,
        error: c.error ? { code: c.error.code, message: c.error.message } : null,
      };
    });
    const json = {
      format: 'rg-vlm-compare',
      version: 1,
      grid: this.grid,
      pack: this.app.packId,
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- not mutated
      exportedAt: new Date().toISOString(),
      config: this.config(),
      cells,
    };
    files['grid.json'] = strToU8(JSON.stringify(json, null, 2));
    return zipSync(files, { level: 0 });
  }
}
