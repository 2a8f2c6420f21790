import type { AppState } from './app.svelte';
import { RunForm, pngUrl } from './form.svelte';
import { RunLifecycle, type UiError } from './run.svelte';
import { flatSettings, persistRun, unsavedNote, type SaveOutcome } from './persist';
import type { RgpoEvent, RgpoRequest, RgpoResult, RgpoRollout } from '../../pipeline/rgpo/run';
import type { RewardInfo } from '../../pipeline/rgpo/rewards';
import { runningMeans } from '../../pipeline/rgpo/stats';
import { MAX_GROUP } from '../../limits';
import {
  errorsOf,
  parseDecimal,
  parseInteger,
  validateMaxNewTokens,
  validatePrompt,
  validateSeed,
  validateSteps,
  type Check,
} from '../validate';

export const RGPO_FIELDS = ['prompt', 'group', 'temperature', 'topP', 'seed', 'steps', 'maxNewTokens'] as const;
export { MAX_GROUP };

/** One rollout's card: streamed text while it runs, then its rewards, total and advantage. */
export interface RgpoCard {
  index: number;
  seed: number;
  status: 'waiting' | 'running' | 'done';
  thinking: string;
  answer: string;
  rollout: RgpoRollout | null;
  url: string | null;
}

export interface RgpoSettings {
  prompt: string;
  group: number;
  temperature: number;
  topP: number;
  seed: number;
  steps: number;
  maxNewTokens: number;
  /** Cascade thinking in every rollout. */
  cascade: boolean;
}

function groupCheck(text: string): Check<number> {
  const n = parseInteger(text);
  if (text.trim() === '') return { ok: false, error: 'Enter the group size.' };
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_GROUP)
    return { ok: false, error: `The group size must be a whole number from 1 to ${MAX_GROUP}.` };
  return { ok: true, value: n };
}

function decimalCheck(text: string, what: string, lo: number, hi: number, loOpen: boolean): Check<number> {
  const x = parseDecimal(text);
  if (text.trim() === '') return { ok: false, error: `Enter the ${what}.` };
  if (!Number.isFinite(x) || (loOpen ? x <= lo : x < lo) || x > hi)
    return {
      ok: false,
      error: `The ${what} must be ${loOpen ? 'above' : 'from'} ${lo} ${loOpen ? 'and at most' : 'to'} ${hi}.`,
    };
  return { ok: true, value: x };
}

/**
 * The RGPO lab's state: the form, the G cards of the current group, and the mean reward of every group run. A group
 * is one run of the studio's run skeleton (`stream` tracks its life; its events are per rollout, not a RunStream's).
 */
export class RgpoState extends RunForm<RunLifecycle> {
  prompt = $state('');
  group = $state('4');
  temperature = $state('1');
  topP = $state('1');
  seed = $state('');
  steps = $state('');
  maxNewTokens = $state('');
  /** Cascade thinking in every rollout (the lab's rollouts think with chain of thought). */
  cascade = $state(false);
  cards = $state<RgpoCard[]>([]);
  rewards = $state.raw<RewardInfo[]>([]);
  result = $state.raw<RgpoResult | null>(null);
  /** Mean total reward of each finished group, in order (the running mean chart). */
  groupMeans = $state<number[]>([]);
  /** What the live region announces. */
  status = $state('');
  saved = $state<boolean | null>(null);
  /** "Saved in history." or why the group shown is not in history and what to do (empty before a group ends). */
  saveNote = $state('');
  kept = $state<number | null>(null);
  keepError = $state<UiError | null>(null);

  constructor(app: AppState) {
    super(app, new RunLifecycle());
  }

  /** Whether a group is running. */
  get running(): boolean {
    return this.stream.running;
  }

  readonly checks = $derived.by(() => ({
    prompt: validatePrompt(this.prompt, this.app.packInfo.limits),
    group: groupCheck(this.group),
    temperature: decimalCheck(this.temperature, 'temperature', 0.01, 100, false),
    topP: decimalCheck(this.topP, 'top-p', 0, 1, true),
    seed: validateSeed(this.seed),
    steps: validateSteps(this.steps, this.app.packInfo.limits),
    maxNewTokens: validateMaxNewTokens(this.maxNewTokens, this.app.packInfo.limits),
  }));
  readonly problems = $derived(errorsOf(this.checks));
  readonly runningMeans = $derived(runningMeans(this.groupMeans));

  /** Fills every field the user has not edited with the pack's defaults (once per manifest read). */
  applyDefaults(): void {
    const info = this.app.packInfo;
    if (!this.newDefaults(`${info.id}:${info.manifestSha256}`)) return;
    if (!this.touched.seed) this.seed = String(info.defaults.seed);
    if (!this.touched.steps) this.steps = String(info.defaults.steps);
    if (!this.touched.maxNewTokens) this.maxNewTokens = String(info.defaults.maxNewTokens);
  }

  settings(): RgpoSettings | null {
    if (!this.ready()) return null;
    const c = this.checks;
    if (
      !c.prompt.ok ||
      !c.group.ok ||
      !c.temperature.ok ||
      !c.topP.ok ||
      !c.seed.ok ||
      !c.steps.ok ||
      !c.maxNewTokens.ok
    )
      return null;
    if (c.seed.value + c.group.value - 1 > 2 ** 32 - 1) {
      this.runError = {
        code: 'BAD_INPUT',
        message: 'The seeds seed … seed + G − 1 must stay below 2^32',
        hint: 'Choose a smaller seed.',
        field: 'seed',
      };
      return null;
    }
    return {
      prompt: c.prompt.value,
      group: c.group.value,
      temperature: c.temperature.value,
      topP: c.topP.value,
      seed: c.seed.value,
      steps: c.steps.value,
      maxNewTokens: c.maxNewTokens.value,
      cascade: this.cascade,
    };
  }

  private readonly handle = (e: RgpoEvent): void => {
    switch (e.type) {
      case 'group-start':
        this.rewards = e.rewards;
        this.cards = e.seeds.map((seed, index) => ({
          index,
          seed,
          status: 'waiting',
          thinking: '',
          answer: '',
          rollout: null,
          url: null,
        }));
        break;
      case 'rollout-start': {
        const c = this.cards[e.index];
        if (c) c.status = 'running';
        this.status = `Rollout ${e.index + 1} of ${this.cards.length} (seed ${e.seed})…`;
        break;
      }
      case 'rollout-event': {
        const c = this.cards[e.index];
        if (c && e.event.type === 'token') {
          if (e.event.phase === 'thinking') c.thinking += e.event.text;
          else c.answer += e.event.text;
        }
        break;
      }
      case 'rollout-done': {
        const c = this.cards[e.index];
        if (c) {
          c.status = 'done';
          c.thinking = e.rollout.reasoning;
          c.answer = e.rollout.answer;
          c.rollout = e.rollout;
          c.url = pngUrl(e.rollout.png);
        }
        const reward = e.rollout.total.toFixed(3);
        this.status = `Rollout ${e.index + 1} of ${this.cards.length} done: total reward ${reward}.`;
        break;
      }
      default:
        break;
    }
  };

  private clear(): void {
    for (const c of this.cards) if (c.url) URL.revokeObjectURL(c.url);
    this.cards = [];
    this.result = null;
    this.saved = null;
    this.saveNote = '';
    this.kept = null;
    this.keepError = null;
  }

  async run(): Promise<void> {
    if (this.running) return;
    const s = this.settings();
    if (!s) return;
    this.clear();
    this.status = `Running a group of ${s.group}…`;
    await this.launch('rgpo', {
      call: (runId) => {
        const { cascade, ...rest } = s;
        // Cascade thinking reasons on with chain of thought, so it asks for chain of thought too.
        const request: RgpoRequest = {
          runId,
          pack: this.app.packId,
          ...rest,
          reasonerWeights: this.app.reasonerWeights,
          weights: this.app.painterWeights,
          ...(cascade ? { cascade, cot: true } : {}),
        };
        return this.app.worker.rgpo(request, this.handle);
      },
      // Saved before it is shown; a group that could not be recorded is shown all the same, with the reason (and each
      // rollout can still be kept, or its image downloaded).
      record: groupRecord,
      done: (r, saved, note) => {
        // The final result is authoritative (advantages are only known once the group is complete).
        this.cards = r.rollouts.map((x, i) => ({
          index: i,
          seed: x.seed,
          status: 'done',
          thinking: x.reasoning,
          answer: x.answer,
          rollout: x,
          url: this.cards[i]?.url ?? pngUrl(x.png),
        }));
        this.result = r;
        this.saved = saved;
        this.saveNote = note;
        this.groupMeans = [...this.groupMeans, r.stats.mean];
        this.status = `Group done: mean reward ${r.stats.mean.toFixed(3)}, best is rollout ${r.stats.best + 1}.`;
      },
      failed: (err) => {
        this.status = `Failed: ${err.message}`;
        this.runError = err;
      },
      cancelled: () => (this.status = 'Cancelled.'),
    });
  }

  /** Keeps rollout `index` (the best, by default): saved in history as an Imagine run. */
  async keep(index = this.result?.stats.best ?? 0): Promise<void> {
    const r = this.result;
    const x = r?.rollouts[index];
    if (!r || !x) return;
    this.keepError = null;
    let outcome: SaveOutcome;
    try {
      outcome = await persistRun(this.app, keptRecord(r, x));
    } catch (e) {
      outcome = { saved: false, note: unsavedNote(e) };
    }
    if (outcome.saved) {
      this.kept = index;
      this.status = `Rollout ${index + 1} kept in history as an Imagine run.`;
    } else {
      this.keepError = { code: 'STORE', message: outcome.note, hint: '' };
    }
  }
}

/** History's record of a whole group (mode 'rgpo'): the best rollout's text and image, every number in settings. */
export function groupRecord(r: RgpoResult) {
  const best = r.rollouts[r.stats.best]!;
  return {
    mode: 'rgpo' as const,
    inputs: { prompt: r.prompt },
    settings: flatSettings({
      group: r.group,
      temperature: r.temperature,
      topP: r.topP,
      seed: r.seeds[0],
      steps: r.settings.steps,
      guidance: r.settings.guidance,
      width: r.settings.width,
      height: r.settings.height,
      maxNewTokens: r.settings.maxNewTokens,
      painterWeights: r.settings.weights,
      mean: r.stats.mean,
      std: r.stats.std,
      stdKind: r.stats.stdKind,
      best: r.stats.best,
      rewards: r.rewards
        .filter((w) => w.available)
        .map((w) => w.name)
        .join(','),
      rollouts: JSON.stringify(
        r.rollouts.map((x) => ({
          seed: x.seed,
          rewards: x.rewards,
          total: x.total,
          advantage: x.advantage,
          answer: x.answer.slice(0, 120),
        })),
      ),
    }),
    reasoning: best.reasoning,
    answer: best.answer,
    timings: { total: r.totalMs },
    image: best.png,
  };
}

/** A kept rollout as an Imagine run in history. */
export function keptRecord(r: RgpoResult, x: RgpoRollout) {
  const s = r.settings;
  return {
    mode: 'imagine' as const,
    inputs: { prompt: r.prompt },
    settings: flatSettings({
      cot: s.cot,
      maxNewTokens: s.maxNewTokens,
      painterWeights: s.weights,
      steps: s.steps,
      guidance: s.guidance,
      seed: x.seed,
      width: s.width,
      height: s.height,
      temperature: r.temperature,
      topP: r.topP,
      formatOk: x.formatOk,
      rgpoTotal: x.total,
      rgpoAdvantage: x.advantage,
      ...(x.refusal ? { refusal: x.refusal } : {}),
    }),
    reasoning: x.reasoning,
    answer: x.answer,
    timings: { total: x.totalMs },
    image: x.png,
  };
}
