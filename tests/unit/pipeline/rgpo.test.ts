// RGPO lab arithmetic and orchestration (src/pipeline/rgpo/): group statistics against hand-worked cases, the
// rewards (format regex reused from the parser, shapes accuracy on the shapes fixtures, the similarity slot on and
// off), the manifest's optional `rewards` field, and the group run with a fake Imagine (seeds, sampling, events,
// cancel, bad input refused before any rollout).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodePngRgba } from '../../../src/pipeline/png';
import { describe, expect, it, vi } from 'vitest';
import { CancelledError, RgError } from '../../../src/errors';
import { parseManifest, type Manifest } from '../../../src/packs/manifest';
import type { PackSource } from '../../../src/packs/source';
import { encodePng } from '../../../src/pipeline/png';
import type { ImagineRequest, ImagineResult } from '../../../src/pipeline/imagine';
import { EQUAL_TOLERANCE, groupStats, runningMeans, totalReward } from '../../../src/pipeline/rgpo/stats';
import {
  formatReward,
  formatScore,
  packRewards,
  scoreRollout,
  shapesAccuracyScore,
  similarityReward,
  similarityScore,
  type Reward,
  type RolloutImage,
} from '../../../src/pipeline/rgpo/rewards';
import { shapesTarget } from '../../../src/pipeline/rgpo/shapes_target';
import { loadSimilarityScorer } from '../../../src/pipeline/rgpo/similarity_onnx';
import { rgpo, type RgpoEvent } from '../../../src/pipeline/rgpo/run';
import { FORMAT_REGEX } from '../../../src/models/reasoner/parse';

// paint.ts (its request validation is real here) pulls the GPU models in; the group run gets a fake Imagine, so
// those modules are stubbed out for Node.
vi.mock('../../../src/models/reasoner', () => ({}));
vi.mock('../../../src/models/painter', () => ({}));

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const tinyJson = JSON.parse(readFileSync(ROOT + 'public/models/tiny-random/manifest.json', 'utf8')) as Record<
  string,
  unknown
>;
const tiny = parseManifest(tinyJson);

function fixture(file: string): RolloutImage {
  return decodePngRgba(new Uint8Array(readFileSync(ROOT + 'tests/fixtures/shapes/' + file)));
}

function close(a: readonly number[], b: readonly number[], tol = 1e-8): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - b[i]!)).toBeLessThan(tol));
}

describe('group statistics (hand-worked)', () => {
  it('[2, 1, 1, 0]: mean 1, population std √0.5, advantages ±√2 and 0; sample std √(2/3)', () => {
    const s = groupStats([2, 1, 1, 0]);
    expect(s.mean).toBe(1);
    expect(s.stdKind).toBe('population');
    expect(s.std).toBeCloseTo(Math.SQRT1_2, 12);
    close(s.advantages, [Math.SQRT2, 0, 0, -Math.SQRT2]);
    expect(s.best).toBe(0);
    const b = groupStats([2, 1, 1, 0], { std: 'sample' });
    expect(b.std).toBeCloseTo(Math.sqrt(2 / 3), 12);
    close(b.advantages, [1.224744871391589, 0, 0, -1.224744871391589]);
  });

  it('[0, 2, 2, 1]: mean 1.25, std √0.6875, best-of-G tie goes to the lowest index', () => {
    const s = groupStats([0, 2, 2, 1]);
    expect(s.mean).toBe(1.25);
    expect(s.std).toBeCloseTo(Math.sqrt(0.6875), 12);
    close(s.advantages, [-1.507556722888818, 0.9045340337332909, 0.9045340337332909, -0.30151134457776363]);
    expect(s.best).toBe(1);
    expect(groupStats([1, 1, 1, 1]).best).toBe(0);
    expect(groupStats([0, 1, 0, 1]).best).toBe(1);
  });

  it('equal rewards: std 0 and every advantage 0 (not NaN)', () => {
    for (const totals of [
      [1, 1, 1, 1],
      [0, 0, 0, 0],
      [2, 2],
      [0.1 + 0.2, 0.3, 0.3],
    ]) {
      const s = groupStats(totals);
      expect(s.std).toBe(0);
      expect(s.advantages).toEqual(totals.map(() => 0));
      expect(groupStats(totals, { std: 'sample' }).advantages).toEqual(totals.map(() => 0));
    }
    expect(Math.abs(0.1 + 0.2 - 0.3)).toBeLessThan(EQUAL_TOLERANCE);
  });

  it('a group of 1: std 0, advantage 0, best 0 (both std kinds)', () => {
    for (const kind of ['population', 'sample'] as const) {
      const s = groupStats([0.7], { std: kind });
      expect(s).toMatchObject({ mean: 0.7, std: 0, advantages: [0], best: 0 });
    }
  });

  it('advantages sum to 0 and are finite on many random groups', () => {
    let x = 12345;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let k = 0; k < 500; k++) {
      const g = 1 + (k % 8);
      const totals = Array.from({ length: g }, () => Math.round(rnd() * 3) / (1 + (k % 3)));
      const s = groupStats(totals);
      expect(s.advantages.every(Number.isFinite)).toBe(true);
      expect(Number.isFinite(s.std) && Number.isFinite(s.mean)).toBe(true);
      expect(Math.abs(s.advantages.reduce((a, b) => a + b, 0))).toBeLessThan(1e-9);
      if (s.std > 0) {
        const pop = Math.sqrt(s.advantages.reduce((a, b) => a + b * b, 0) / g);
        expect(pop).toBeCloseTo(1, 9);
      }
      expect(totals[s.best]).toBe(Math.max(...totals));
      expect(totals.slice(0, s.best).every((t) => t < totals[s.best]!)).toBe(true);
    }
  });

  it('refuses an empty group and non-finite totals', () => {
    expect(() => groupStats([])).toThrow(RgError);
    expect(() => groupStats([1, NaN])).toThrow('a total reward must be finite, got NaN');
    expect(() => groupStats([Infinity])).toThrow(RgError);
  });

  it('total = sum of available rewards; running mean', () => {
    expect(totalReward({ format: 1, accuracy: 0, similarity: null })).toBe(1);
    expect(totalReward({ format: 1, accuracy: 1 })).toBe(2);
    expect(totalReward({ similarity: null })).toBe(0);
    close(runningMeans([1, 0, 2, 1]), [1, 0.5, 1, 1]);
    expect(runningMeans([])).toEqual([]);
  });
});

describe('rewards', () => {
  const blank: RolloutImage = { width: 64, height: 64, rgba: new Uint8ClampedArray(64 * 64 * 4).fill(255) };

  it('format: the parser’s regex (reused, anchored as re.match), 1 or 0', async () => {
    expect(formatScore('<think>2 + 3 = 5</think><answer>5 red circles</answer>')).toBe(1);
    expect(formatScore('<think>a\nb</think>\n  <answer>x\ny</answer> trailing')).toBe(1);
    expect(formatScore('<think>no answer</think>')).toBe(0);
    expect(formatScore('<answer>x</answer>')).toBe(0);
    expect(formatScore('preamble <think>a</think><answer>b</answer>')).toBe(0);
    expect(formatScore('')).toBe(0);
    for (const t of ['<think>a</think><answer>b</answer>', 'x<think>a</think>', '<think></think> <answer></answer>']) {
      expect(formatScore(t)).toBe(FORMAT_REGEX.test(t) ? 1 : 0);
    }
    expect(
      await formatReward.score({ prompt: 'p', text: '<think>a</think><answer>b</answer>', answer: 'b', image: blank }),
    ).toBe(1);
  });

  it('shapes target: every template of the world', () => {
    expect(shapesTarget('draw 5 red circles')).toEqual({ n: 5, colour: 'red', kind: 'circle' });
    expect(shapesTarget('draw 1 green triangle')).toEqual({ n: 1, colour: 'green', kind: 'triangle' });
    expect(shapesTarget('draw as many blue squares as 2 plus 3')).toEqual({ n: 5, colour: 'blue', kind: 'square' });
    expect(shapesTarget('Tom has 2 red circles and gets 3 more. draw them all')).toEqual({
      n: 5,
      colour: 'red',
      kind: 'circle',
    });
    expect(shapesTarget('draw 7 minus 3 purple triangles')).toEqual({ n: 4, colour: 'purple', kind: 'triangle' });
    expect(shapesTarget('there are 4 yellow squares and 4 roll away. draw the ones left')).toEqual({
      n: 0,
      colour: 'yellow',
      kind: 'square',
    });
    expect(shapesTarget('draw the larger of 2 and 6 orange circles')).toEqual({
      n: 6,
      colour: 'orange',
      kind: 'circle',
    });
    expect(shapesTarget('draw the smaller of 2 and 6 orange circles')).toEqual({
      n: 2,
      colour: 'orange',
      kind: 'circle',
    });
    expect(shapesTarget('draw 3 squares in the colour you get mixing yellow and blue')).toEqual({
      n: 3,
      colour: 'green',
      kind: 'square',
    });
    expect(shapesTarget('draw 3 squares in the colour you get mixing red and green')).toBeNull();
    expect(shapesTarget('draw as many red circles as 6 plus 6')).toBeNull();
    expect(shapesTarget('a cat on a mat')).toBeNull();
  });

  it('shapes accuracy: 1 when the checker reads exactly the target, 0 otherwise, null without a target', () => {
    const five = fixture('five_red_circles.png');
    expect(shapesAccuracyScore('draw 5 red circles', five)).toBe(1);
    expect(shapesAccuracyScore('draw as many red circles as 2 plus 3', five)).toBe(1);
    expect(shapesAccuracyScore('draw 4 red circles', five)).toBe(0);
    expect(shapesAccuracyScore('draw 5 blue circles', five)).toBe(0);
    expect(shapesAccuracyScore('draw 0 blue squares', fixture('zero_blue_squares.png'))).toBe(1);
    expect(shapesAccuracyScore('paint a sunset', five)).toBeNull();
  });

  it('similarity: max(s, 0) / 100 clamped to [0, 1]; off (null, unavailable) without a scorer', async () => {
    expect(similarityScore(31.5)).toBeCloseTo(0.315, 12);
    expect(similarityScore(-4)).toBe(0);
    expect(similarityScore(0)).toBe(0);
    expect(similarityScore(250)).toBe(1);
    expect(similarityScore(NaN)).toBe(0);
    const off = similarityReward(null);
    expect(off.available).toBe(false);
    expect(await off.score({ prompt: 'p', text: '', answer: '', image: blank })).toBeNull();
    const seen: string[] = [];
    const on = similarityReward({
      similarity: async (img, text) => (seen.push(`${img.width}x${img.height}:${text}`), 27),
    });
    expect(on.available).toBe(true);
    expect(await on.score({ prompt: 'three red circles', text: '', answer: '', image: blank })).toBeCloseTo(0.27, 12);
    expect(seen).toEqual(['64x64:three red circles']);
  });

  const noRewardsTitle =
    'a pack without rewards (tiny-random): format + similarity off; with the shapes checker: accuracy too';
  it(noRewardsTitle, async () => {
    expect(tiny.rewards).toBeUndefined();
    expect(await loadSimilarityScorer({ id: 'tiny-random' } as PackSource, tiny, { backend: 'wasm' })).toBeNull();
    expect(packRewards(tiny, null).map((r) => [r.name, r.available])).toEqual([
      ['format', true],
      ['similarity', false],
    ]);
    const shapes = parseManifest({ ...tinyJson, rewards: { checker: 'shapes' } });
    expect(packRewards(shapes, null).map((r) => r.name)).toEqual(['format', 'accuracy', 'similarity']);
    const scores = await scoreRollout(packRewards(shapes, null), {
      prompt: 'draw 5 red circles',
      text: '<think>5</think><answer>5 red circles</answer>',
      answer: '5 red circles',
      image: fixture('five_red_circles.png'),
    });
    expect(scores).toEqual({ format: 1, accuracy: 1, similarity: null });
  });

  it('manifest: rewards is optional and strict; a similarity model must be a listed file', () => {
    expect(() => parseManifest({ ...tinyJson, rewards: { checker: 'clip' } })).toThrow(RgError);
    expect(() => parseManifest({ ...tinyJson, rewards: { extra: 1 } })).toThrow(RgError);
    const sim = {
      model: 'clip.onnx',
      tokenizer: 'tokenizer.json',
      image_size: 224,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
      max_length: 77,
    };
    expect(() => parseManifest({ ...tinyJson, rewards: { similarity: sim } })).toThrow(/clip\.onnx/);
    const listed = (tinyJson.files as { path: string }[]).map((f) => f.path);
    const model = listed.find((p) => p.endsWith('.onnx'))!;
    expect(parseManifest({ ...tinyJson, rewards: { similarity: { ...sim, model } } }).rewards?.similarity?.model).toBe(
      model,
    );
  });

  it('a reward outside [0, 1] or throwing fails the rollout with its name', async () => {
    const wild: Reward = { name: 'wild', label: 'Wild', available: true, score: async () => 1.5 };
    const boom: Reward = {
      name: 'boom',
      label: 'Boom',
      available: true,
      score: async () => {
        throw new Error('no');
      },
    };
    const r = { prompt: 'p', text: '', answer: '', image: blank };
    await expect(scoreRollout([wild], r)).rejects.toThrow(/Wild/);
    await expect(scoreRollout([boom], r)).rejects.toThrow(/Boom reward failed: no/);
  });
});

// ------------------------------------------------------------------------------------------------ the group run
function rgbOf(img: RolloutImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height * 3);
  for (let p = 0; p < img.width * img.height; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = img.rgba[p * 4 + c]!;
  return out;
}

const FIVE = fixture('five_red_circles.png');
const FOUR = fixture('blurred_four_green_squares.png');

/** A fake Imagine: seed parity decides the completion's format and the picture (5 red circles or 4 green squares). */
function fakeImagine(calls: ImagineRequest[], opts: { onCall?: (i: number) => void } = {}) {
  return async (
    req: ImagineRequest,
    onEvent?: (e: import('../../../src/worker/api').RgEvent) => void,
  ): Promise<ImagineResult> => {
    calls.push(req);
    opts.onCall?.(calls.length - 1);
    const good = req.seed! % 2 === 0;
    onEvent?.({ type: 'phase', phase: 'thinking' });
    onEvent?.({ type: 'token', text: 'x', phase: 'thinking' });
    onEvent?.({ type: 'done' });
    const img = good ? FIVE : FOUR;
    const text = good ? '<think>5</think><answer>5 red circles</answer>' : 'no tags';
    return {
      runId: req.runId,
      pack: 'tiny-random',
      backend: 'wasm',
      engine: 'reference',
      png: encodePng(rgbOf(img), img.width, img.height),
      width: img.width,
      height: img.height,
      settings: {
        width: 64,
        height: 64,
        steps: 2,
        guidance: 3,
        seed: req.seed!,
        cot: true,
        maxNewTokens: 8,
        negativePrompt: '',
        weights: 'f32',
        reasonerWeights: 'f32',
        previewEvery: 0,
      },
      text,
      reasoning: good ? '5' : '',
      answer: good ? '5 red circles' : 'no tags',
      formatOk: good,
      // the bad rollouts stand for a pack's refusal: carried to the rollout, scored like any other
      refusal: good ? null : 'no tags',
      stopReason: 'eos',
      conditionRows: 1,
      negativeRows: 1,
      timings: {
        reasonMs: 1,
        negativeMs: 0,
        imageMs: 0,
        painterPrepareMs: 0,
        stepsMs: 1,
        vaeMs: 0,
        pngMs: 0,
        totalMs: 3,
      },
    } as ImagineResult;
  };
}

function source(m: Manifest): PackSource {
  return {
    id: m.id,
    manifest: async () => m,
    file: async () => {
      throw new Error('no files in this test');
    },
  };
}

describe('rgpo group run (fake Imagine)', () => {
  const shapes = parseManifest({ ...tinyJson, rewards: { checker: 'shapes' } });

  it('G rollouts with seeds seed..seed+G−1, sampling settings passed, rewards, stats and best-of-G', async () => {
    const calls: ImagineRequest[] = [];
    const events: RgpoEvent[] = [];
    const r = await rgpo(
      {
        runId: 'g1',
        pack: 'tiny-random',
        prompt: 'draw 5 red circles',
        seed: 7,
        temperature: 0.8,
        topP: 0.9,
        steps: 2,
      },
      (e) => events.push(e),
      { source: source(shapes), choice: { backend: 'wasm' }, imagine: fakeImagine(calls) as never },
    );
    expect(calls.map((c) => c.seed)).toEqual([7, 8, 9, 10]);
    expect(
      calls.every((c) => c.temperature === 0.8 && c.topP === 0.9 && c.steps === 2 && c.prompt === 'draw 5 red circles'),
    ).toBe(true);
    expect(calls.map((c) => c.runId)).toEqual(['g1:0', 'g1:1', 'g1:2', 'g1:3']);
    expect(r.seeds).toEqual([7, 8, 9, 10]);
    // seeds 8 and 10 are "good": format 1 + accuracy 1 = 2; 7 and 9: 0 + 0 = 0
    expect(r.rollouts.map((x) => x.rewards)).toEqual([
      { format: 0, accuracy: 0, similarity: null },
      { format: 1, accuracy: 1, similarity: null },
      { format: 0, accuracy: 0, similarity: null },
      { format: 1, accuracy: 1, similarity: null },
    ]);
    expect(r.stats.totals).toEqual([0, 2, 0, 2]);
    expect(r.stats.mean).toBe(1);
    expect(r.stats.std).toBe(1);
    expect(r.rollouts.map((x) => x.advantage)).toEqual([-1, 1, -1, 1]);
    expect(r.rollouts.map((x) => x.refusal)).toEqual(['no tags', null, 'no tags', null]);
    expect(r.stats.best).toBe(1);
    expect(r.perReward).toEqual({
      format: { mean: 0.5, best: 1 },
      accuracy: { mean: 0.5, best: 1 },
      similarity: { mean: null, best: null },
    });
    expect(r.rewards.map((x) => x.name)).toEqual(['format', 'accuracy', 'similarity']);
    expect(r.settings.seed).toBe(7);
    const kinds = events.map((e) =>
      e.type === 'rollout-event'
        ? `${e.index}:${e.event.type}`
        : e.type === 'rollout-start' || e.type === 'rollout-done'
          ? `${e.type}:${e.index}`
          : e.type,
    );
    expect(kinds.slice(0, 5)).toEqual(['group-start', 'rollout-start:0', '0:phase', '0:token', 'rollout-done:0']);
    expect(kinds.at(-1)).toBe('group-done');
    expect(kinds.filter((k) => k.startsWith('rollout-done')).length).toBe(4);
  });

  it('defaults: G = 4, temperature 1, top-p 1; tiny-random scores format only (similarity off)', async () => {
    const calls: ImagineRequest[] = [];
    const r = await rgpo({ runId: 'g2', pack: 'tiny-random', prompt: 'anything' }, undefined, {
      source: source(tiny),
      choice: { backend: 'wasm' },
      imagine: fakeImagine(calls) as never,
    });
    expect(calls.length).toBe(4);
    expect(calls.map((c) => c.seed)).toEqual([
      tiny.defaults.seed,
      tiny.defaults.seed + 1,
      tiny.defaults.seed + 2,
      tiny.defaults.seed + 3,
    ]);
    expect(calls.every((c) => c.temperature === 1 && c.topP === 1)).toBe(true);
    expect(Object.keys(r.rollouts[0]!.rewards)).toEqual(['format', 'similarity']);
    expect(Math.abs(r.rollouts.reduce((a, x) => a + x.advantage, 0))).toBeLessThan(1e-12);
  });

  it('a group of 1 and a group of equal rewards: advantages 0', async () => {
    const one = await rgpo(
      { runId: 'g3', pack: 'tiny-random', prompt: 'draw 5 red circles', group: 1, seed: 2 },
      undefined,
      {
        source: source(shapes),
        choice: { backend: 'wasm' },
        imagine: fakeImagine([]) as never,
      },
    );
    expect(one.rollouts.map((x) => [x.total, x.advantage])).toEqual([[2, 0]]);
    expect(one.stats.best).toBe(0);
    const same = await rgpo(
      { runId: 'g4', pack: 'tiny-random', prompt: 'draw 5 red circles', group: 3, seed: 2 },
      undefined,
      {
        source: source(shapes),
        choice: { backend: 'wasm' },
        imagine: fakeImagine([]) as never,
        rewards: [formatReward, { name: 'c', label: 'Const', available: true, score: async () => 0.5 }],
      },
    );
    expect(same.rollouts.map((x) => x.total)).toEqual([1.5, 0.5, 1.5]);
    const flat = await rgpo({ runId: 'g5', pack: 'tiny-random', prompt: 'p', group: 3 }, undefined, {
      source: source(shapes),
      choice: { backend: 'wasm' },
      imagine: fakeImagine([]) as never,
      rewards: [{ name: 'c', label: 'Const', available: true, score: async () => 0.5 }],
    });
    expect(flat.stats.std).toBe(0);
    expect(flat.rollouts.map((x) => x.advantage)).toEqual([0, 0, 0]);
  });

  it('bad input is refused before any rollout, naming the field', async () => {
    const calls: ImagineRequest[] = [];
    const deps = { source: source(tiny), choice: { backend: 'wasm' as const }, imagine: fakeImagine(calls) as never };
    const field = async (req: object) => {
      const events: RgpoEvent[] = [];
      const e = await rgpo(
        { runId: 'b', pack: 'tiny-random', prompt: 'p', ...req },
        (ev) => events.push(ev),
        deps,
      ).catch((x: RgError) => x);
      expect(e).toBeInstanceOf(RgError);
      expect(events.map((x) => x.type)).toEqual(['error']);
      return [(e as RgError).code, (e as RgError).field];
    };
    expect(await field({ prompt: '  ' })).toEqual(['BAD_INPUT', 'prompt']);
    expect(await field({ group: 0 })).toEqual(['BAD_INPUT', 'group']);
    expect(await field({ group: 17 })).toEqual(['BAD_INPUT', 'group']);
    expect(await field({ group: 2.5 })).toEqual(['BAD_INPUT', 'group']);
    expect(await field({ temperature: 0 })).toEqual(['BAD_INPUT', 'temperature']);
    expect(await field({ temperature: NaN })).toEqual(['BAD_INPUT', 'temperature']);
    expect(await field({ topP: 0 })).toEqual(['BAD_INPUT', 'topP']);
    expect(await field({ steps: 0 })).toEqual(['BAD_INPUT', 'steps']);
    expect(await field({ seed: 2 ** 32 - 2 })).toEqual(['BAD_INPUT', 'seed']);
    expect(calls.length).toBe(0);
  });

  it('cancel between rollouts stops the group (CANCELLED, no further rollout)', async () => {
    const calls: ImagineRequest[] = [];
    const ctl = new AbortController();
    const p = rgpo({ runId: 'c', pack: 'tiny-random', prompt: 'p' }, undefined, {
      source: source(tiny),
      choice: { backend: 'wasm' },
      signal: ctl.signal,
      imagine: fakeImagine(calls, { onCall: (i) => i === 1 && ctl.abort() }) as never,
    });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(calls.length).toBe(2);
  });
});
