// @ts-check
// @file `rg rgpo`: the RGPO lab from the command line. One group per prompt (the view's numbers: rewards, totals,
// population-std advantages, best-of-G), each written as NNN/rollout-K.png + NNN/result.json (a single --prompt
// writes straight into --out); with --eval, the single-sample mean (the group mean, averaged over prompts) against
// the best-of-G mean for every reward, in summary.json.
import { UsageError } from '../args.mjs';
import { readText } from '../files.mjs';
import { jsonFile, jsonLine, packRecord, summaryRecord } from '../session.mjs';
import { paintRequest } from '../requests.mjs';

/**
 * @typedef {import('../args.mjs').RgpoCommand} RgpoCommand
 * @typedef {import('../session.mjs').Plan} Plan
 * @typedef {import('../session.mjs').Session} Session
 * @typedef {import('../page.ts').CliRgpoResult} CliRgpoResult
 * @typedef {{ mean: number | null, best: number | null }} RewardFigures
 * @typedef {{
 *   prompt: string, dir: string, mean: number, std: number, best: number, totals: number[], advantages: number[],
 *   perReward: Record<string, RewardFigures>, rewards: { name: string, available: boolean }[]
 * }} Group
 */

/** An --eval prompt list: one prompt per line, or a JSON object with "prompt"; blank lines and # comments skipped. */
export function parsePromptList(/** @type {string} */ textIn, /** @type {string} */ file) {
  /** @type {string[]} */
  const out = [];
  textIn.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    if (!t.startsWith('{')) {
      out.push(t);
      return;
    }
    let o;
    try {
      o = JSON.parse(t);
    } catch (e) {
      throw new UsageError(`${file}:${i + 1}: not valid JSON (${/** @type {Error} */ (e).message})`);
    }
    if (typeof o?.prompt !== 'string' || !o.prompt.trim()) {
      throw new UsageError(`${file}:${i + 1}: "prompt" must be non-empty text`);
    }
    out.push(o.prompt);
  });
  if (out.length === 0) throw new UsageError(`${file}: no prompts`);
  return out;
}

/** Mean of the numbers; null when any is null (a reward unavailable somewhere) or there are none. */
function meanOrNull(/** @type {(number | null)[]} */ xs) {
  if (xs.length === 0 || xs.some((x) => x === null)) return null;
  return /** @type {number[]} */ (xs).reduce((a, b) => a + b, 0) / xs.length;
}

/** A reward figure as the table prints it. @param {number | null} x */
const figure = (x) => (x === null ? 'unavailable' : x.toFixed(4));

/** @param {RgpoCommand} cmd @returns {Plan} */
export function rgpo(cmd) {
  const file = cmd.eval;
  const prompts = file === undefined ? [String(cmd.prompt)] : parsePromptList(readText('--eval', file), file);
  return {
    limits: [{ settings: cmd.settings, where: '--' }],
    async run(s) {
      const single = cmd.eval === undefined;
      /** @type {Group[]} */
      const groups = [];
      for (const [k, prompt] of prompts.entries()) {
        const dir = single ? '' : `${String(k + 1).padStart(3, '0')}/`;
        if (!single) s.log(`== ${k + 1}/${prompts.length}: ${prompt}`);
        groups.push(await runGroup(s, cmd, prompt, dir));
      }
      if (single) {
        const { prompt, mean, std, best, totals, advantages } = groups[0];
        return jsonLine({ out: s.out, prompt, group: cmd.group, mean, std, best, totals, advantages });
      }
      const evalTable = singleVsBest(groups);
      s.log(`evaluation over ${groups.length} prompts, G = ${cmd.group}:`);
      for (const [name, v] of Object.entries(evalTable)) {
        const best = `best-of-${cmd.group} mean ${figure(v.bestOfGMean)}`;
        s.log(`  ${name.padEnd(11)} single-sample mean ${figure(v.singleSampleMean)}   ${best}`);
      }
      const { group, temperature, topP } = cmd;
      const head = { file: cmd.eval, group, temperature, topP };
      const summary = summaryRecord('rg-cli-rgpo-eval', s, head, { eval: evalTable, groups });
      s.write('summary.json', jsonFile(summary));
      return jsonLine({ out: s.out, prompts: groups.length, group, eval: evalTable, summary: `${s.out}/summary.json` });
    },
  };
}

/**
 * One group: the run, its table on stderr, rollout-K.png and result.json in `dir`.
 * @param {Session} s @param {RgpoCommand} cmd @param {string} prompt @param {string} dir
 * @returns {Promise<Group>}
 */
async function runGroup(s, cmd, prompt, dir) {
  const { group, temperature, topP } = cmd;
  const base = { ...paintRequest(cmd.settings, s.pack.id), group, temperature, topP };
  /** @type {CliRgpoResult} */
  const r = await s.run((runId) => s.call('rgpo', /** @type {any} */ ({ ...base, runId, prompt })));
  const names = r.rewards.map((w) => w.name);
  s.log(`rollout  seed        ${names.map((n) => n.padEnd(10)).join(' ')} total      advantage`);
  for (const x of r.rollouts) {
    const cells = names.map((n) => (x.rewards[n] === null ? 'off' : String(x.rewards[n]?.toFixed(4))).padEnd(10));
    const best = x.index === r.stats.best ? '  ← best' : '';
    const head = `${String(x.index + 1).padEnd(8)} ${String(x.seed).padEnd(11)}`;
    s.log(`${head} ${cells.join(' ')} ${x.total.toFixed(4).padEnd(10)} ${x.advantage.toFixed(4)}${best}`);
  }
  const { stats } = r;
  const spread = `std (${stats.stdKind}) ${stats.std.toFixed(4)}`;
  s.log(`mean ${stats.mean.toFixed(4)}, ${spread}, best rollout ${stats.best + 1}`);
  for (const x of r.rollouts) s.write(`${dir}rollout-${x.index + 1}.png`, Buffer.from(x.pngBase64, 'base64'));
  const record = {
    format: 'rg-cli-rgpo',
    version: 1,
    prompt,
    group: r.group,
    temperature: r.temperature,
    topP: r.topP,
    seeds: r.seeds,
    settings: r.settings,
    rewards: r.rewards,
    rollouts: r.rollouts.map(({ pngBase64: _, ...x }) => ({ ...x, image: `rollout-${x.index + 1}.png` })),
    stats: r.stats,
    perReward: r.perReward,
    pack: packRecord(s.pack, r.pack),
    backend: r.backend,
    engine: r.engine,
    device: s.device,
    totalMs: r.totalMs,
    createdAt: new Date().toISOString(),
  };
  s.write(`${dir}result.json`, jsonFile(record));
  const { mean, std, best, totals, advantages } = r.stats;
  return { prompt, dir: dir || '.', mean, std, best, totals, advantages, perReward: r.perReward, rewards: r.rewards };
}

/**
 * Single-sample vs best-of-G, per reward and for the total, averaged over the groups.
 * @param {Group[]} groups
 */
function singleVsBest(groups) {
  /** @type {Record<string, { singleSampleMean: number | null, bestOfGMean: number | null }>} */
  const table = {};
  for (const w of groups[0].rewards) {
    const per = groups.map((g) => g.perReward[w.name]);
    table[w.name] = {
      singleSampleMean: meanOrNull(per.map((x) => x?.mean ?? null)),
      bestOfGMean: meanOrNull(per.map((x) => x?.best ?? null)),
    };
  }
  table.total = {
    singleSampleMean: meanOrNull(groups.map((g) => g.mean)),
    bestOfGMean: meanOrNull(groups.map((g) => g.totals[g.best] ?? null)),
  };
  return table;
}
