/**
 * @file The RGPO lab's group run (orchestration only): one prompt, G rollouts through the Imagine pipeline with the
 * reasoner SAMPLING (temperature > 0, optional top-p) and seeds seed … seed + G − 1 (each seed drives both the
 * reasoner's sampling and the painter's noise, so the rollouts reason and paint differently), each scored by the
 * pack's rewards (rewards.ts), then the group statistics (stats.ts: totals, mean, population std, advantages,
 * best-of-G). Everything is checked before any GPU work (BAD_INPUT naming the field); `deps.signal` cancels
 * between and inside rollouts.
 */
import { CancelledError, badInput, type ErrorInfo } from '../../errors';
import { imagine, type ImagineDeps, type ImagineRequest, type ImagineResult } from '../imagine';
import { resolvePaintSettings, type PaintSettings } from '../paint';
import { packSource, backendChoice, reportingErrors } from '../reason';
import { decodePngRgba } from '../png';
import { MAX_GROUP, MAX_SEED } from '../../limits';
import { safeSink, type RgEvent } from '../events';
import type { Manifest } from '../../packs/manifest';
import type { Completion } from '../../models/reasoner';
import type { PackSource } from '../../packs/source';
import { describeReward, packRewards, scoreRollout, type Reward, type RewardInfo } from './rewards';
import { groupStats, totalReward, type GroupStats } from './stats';
import { loadSimilarityScorer } from './similarity_onnx';
import { RGPO_GROUP } from './loss';

export const DEFAULT_GROUP = RGPO_GROUP;
export { MAX_GROUP };
export const DEFAULT_TEMPERATURE = 1;

export interface RgpoRequest extends Omit<ImagineRequest, 'temperature' | 'topP' | 'topK'> {
  /** Rollouts in the group (default 4, as in the paper; 1 to MAX_GROUP). */
  group?: number;
  /** Reasoner sampling temperature, 0.01 to 100 (default 1; RGPO samples, greedy would repeat one rollout). */
  temperature?: number;
  /** Reasoner top-p in (0, 1] (default 1 = off). */
  topP?: number;
}

/** One scored rollout. */
export interface RgpoRollout extends Omit<Completion, 'stopReason'> {
  index: number;
  seed: number;
  png: Uint8Array;
  width: number;
  height: number;
  /** Reward name → score in [0, 1], or null when unavailable. */
  rewards: Record<string, number | null>;
  /** Cascade thinking's record (the text sent back, the second pass), null when off. The rewards score the first
   * pass's text (format) and the painted image (accuracy), which the second pass conditioned. */
  cascade: ImagineResult['cascade'];
  /** The pack's refusal when the rollout declined (null otherwise); its picture is still scored like any other. */
  refusal: string | null;
  total: number;
  /** Filled in when the group is complete. */
  advantage: number;
  totalMs: number;
}

export interface RgpoResult {
  runId: string;
  pack: string;
  backend: ImagineResult['backend'];
  engine: ImagineResult['engine'];
  prompt: string;
  group: number;
  temperature: number;
  topP: number;
  seeds: number[];
  settings: PaintSettings;
  rewards: RewardInfo[];
  rollouts: RgpoRollout[];
  stats: GroupStats;
  /** Per reward: the group's mean (the expected single-sample score) and best-of-G's score; null when unavailable. */
  perReward: Record<string, { mean: number | null; best: number | null }>;
  totalMs: number;
}

export type RgpoEvent =
  | { type: 'group-start'; runId: string; group: number; seeds: number[]; rewards: RewardInfo[] }
  | { type: 'rollout-start'; index: number; seed: number }
  /** An event of rollout `index`'s Imagine run (phase, token, progress, preview). */
  | { type: 'rollout-event'; index: number; event: RgEvent }
  | { type: 'rollout-done'; index: number; rollout: RgpoRollout }
  | { type: 'group-done'; stats: GroupStats }
  | { type: 'error'; error: ErrorInfo };

export type RgpoEventSink = (e: RgpoEvent) => void;

export interface RgpoDeps extends ImagineDeps {
  /** The pipeline each rollout runs (tests inject a fake). */
  imagine?: typeof imagine;
  /** The rewards (default: the pack's, see rewards.ts packRewards). */
  rewards?: Reward[];
}

/** Checks the group settings; BAD_INPUT with the field and the allowed range. */
export function resolveGroup(
  req: RgpoRequest,
  m: Manifest,
): { group: number; temperature: number; topP: number; seed: number; settings: PaintSettings } {
  const group = req.group ?? DEFAULT_GROUP;
  if (typeof group !== 'number' || !Number.isInteger(group) || group < 1 || group > MAX_GROUP)
    throw badInput('group', `group must be a whole number from 1 to ${MAX_GROUP}, got ${String(group)}`);
  const temperature = req.temperature ?? DEFAULT_TEMPERATURE;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0.01 || temperature > 100) {
    throw badInput(
      'temperature',
      `temperature must be a number from 0.01 to 100 (RGPO samples), got ${String(temperature)}`,
    );
  }
  const topP = req.topP ?? 1;
  if (typeof topP !== 'number' || !Number.isFinite(topP) || topP <= 0 || topP > 1)
    throw badInput('topP', `top-p must be above 0 and at most 1, got ${String(topP)}`);
  const settings = resolvePaintSettings(m, req, false);
  const seed = settings.seed;
  if (seed + group - 1 > MAX_SEED)
    throw badInput('seed', `seed + group − 1 must be at most ${MAX_SEED}, got ${seed + group - 1}`);
  return { group, temperature, topP, seed, settings };
}

/**
 * Runs one RGPO group. Events: `group-start`, then per rollout `rollout-start`, its Imagine events wrapped in
 * `rollout-event`, `rollout-done` (with its rewards and PNG); finally `group-done` with the statistics (the
 * rollouts' advantages are filled in the result). On failure one `error` event and the promise rejects.
 */
export async function rgpo(req: RgpoRequest, onEvent: RgpoEventSink | undefined, deps: RgpoDeps): Promise<RgpoResult> {
  const emit = safeSink<RgpoEvent>(onEvent);
  const t0 = performance.now();
  return reportingErrors(emit, async () => {
    if (typeof req?.prompt !== 'string' || req.prompt.trim().length === 0)
      throw badInput('prompt', 'the prompt is empty');
    const source: PackSource = packSource(deps);
    const m = await source.manifest();
    const g = resolveGroup(req, m);
    let rewards = deps.rewards;
    if (!rewards) {
      const choice = await backendChoice(deps);
      rewards = packRewards(m, await loadSimilarityScorer(source, m, choice));
    }
    const seeds = Array.from({ length: g.group }, (_, i) => g.seed + i);
    const infos = rewards.map(describeReward);
    emit({ type: 'group-start', runId: req.runId, group: g.group, seeds, rewards: infos });
    const run = deps.imagine ?? imagine;
    const rollouts: RgpoRollout[] = [];
    let last: ImagineResult | null = null;
    for (let i = 0; i < g.group; i++) {
      if (deps.signal?.aborted) throw new CancelledError('Cancelled');
      const seed = seeds[i]!;
      emit({ type: 'rollout-start', index: i, seed });
      const { group: _g, ...base } = req;
      const r = await run(
        { ...base, runId: `${req.runId}:${i}`, seed, temperature: g.temperature, topP: g.topP },
        (event) => {
          if (event.type !== 'error' && event.type !== 'done') emit({ type: 'rollout-event', index: i, event });
        },
        { ...deps, source },
      );
      last = r;
      const image = decodePngRgba(r.png);
      const scores = await scoreRollout(rewards, { prompt: req.prompt, text: r.text, answer: r.answer, image });
      const rollout: RgpoRollout = {
        index: i,
        seed,
        text: r.text,
        reasoning: r.reasoning,
        answer: r.answer,
        formatOk: r.formatOk,
        png: r.png,
        width: r.width,
        height: r.height,
        rewards: scores,
        cascade: r.cascade ?? null,
        refusal: r.refusal ?? null,
        total: totalReward(scores),
        advantage: 0,
        totalMs: r.timings.totalMs,
      };
      rollouts.push(rollout);
      emit({ type: 'rollout-done', index: i, rollout: { ...rollout, png: rollout.png.slice() } });
    }
    const stats = groupStats(rollouts.map((r) => r.total));
    rollouts.forEach((r, i) => (r.advantage = stats.advantages[i]!));
    const perReward: RgpoResult['perReward'] = {};
    for (const info of infos) {
      const vals = rollouts.map((r) => r.rewards[info.name] ?? null);
      const known = vals.filter((v): v is number => v !== null);
      perReward[info.name] = {
        mean: known.length === vals.length ? known.reduce((a, b) => a + b, 0) / known.length : null,
        best: vals[stats.best] ?? null,
      };
    }
    emit({ type: 'group-done', stats });
    return {
      runId: req.runId,
      pack: source.id,
      backend: last!.backend,
      engine: last!.engine,
      prompt: req.prompt,
      group: g.group,
      temperature: g.temperature,
      topP: g.topP,
      seeds,
      settings: g.settings,
      rewards: infos,
      rollouts,
      stats,
      perReward,
      totalMs: performance.now() - t0,
    };
  });
}
