// @ts-check
// @file `rg`, the headless command line: generate / understand / edit / compare / bench. Arguments and input files
// are checked in Node first (exit 2, nothing written); then the app is built if stale, served on 127.0.0.1 and
// driven in headless Chromium through cli.html (src/cli/app.mjs, src/cli/page.ts): the same worker and pipelines as
// the studio. Progress goes to stderr, results to stdout (a JSON line per run) and --out (written through a
// temporary folder, renamed into place only at the end). Exit: 0 done, 2 bad arguments or inputs, 1 a failure.
import { UsageError, parseCommandLine, usage } from './args.mjs';
import { parsePromptsFile, toCsv } from './jsonl.mjs';
import { Staging, checkOut, readImage, readText } from './files.mjs';
import { PageError, openApp } from './app.mjs';
import { runEval } from './eval.mjs';

/**
 * @typedef {import('./args.mjs').Command} Command
 * @typedef {import('./args.mjs').Settings} Settings
 * @typedef {import('./page.ts').CliEvent} CliEvent
 * @typedef {import('./page.ts').CliPackInfo} CliPackInfo
 * @typedef {import('./page.ts').CliImagineResult} CliImagineResult
 * @typedef {Awaited<ReturnType<typeof openApp>>} App
 * @typedef {{ out: NodeJS.WritableStream, err: NodeJS.WritableStream }} Io
 */

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** The command-line flag of a request field a pipeline refuses (BAD_INPUT names the field). */
const FIELD_FLAGS = /** @type {Record<string, string>} */ ({
  prompt: '--prompt',
  instruction: '--instruction',
  image: '--image',
  pack: '--pack',
  cot: '--cot',
  seed: '--seed',
  steps: '--steps',
  guidance: '--guidance',
  width: '--size',
  height: '--size',
  maxNewTokens: '--max-new-tokens',
  weights: '--weights',
  strength: '--strength',
});

/** A failure with a known exit status. */
class Exit extends Error {
  /** @param {number} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.exitCode = code;
  }
}

/** Prints progress on stderr: phases as lines, tokens streamed, steps as a counter. */
function progressPrinter(/** @type {NodeJS.WritableStream} */ err) {
  let midLine = false;
  const newline = () => {
    if (midLine) err.write('\n');
    midLine = false;
  };
  return {
    /** @param {string} line */
    log(line) {
      newline();
      err.write(`${line}\n`);
    },
    /** @param {CliEvent} e */
    event(e) {
      switch (e.type) {
        case 'phase':
          if (e.phase === 'done') return;
          newline();
          err.write(`[${e.phase}]${e.detail ? ` ${e.detail}` : ''}\n`);
          return;
        case 'token':
          err.write(e.text.replace(/\r?\n/g, ' '));
          midLine = true;
          return;
        case 'progress':
          newline();
          err.write(`  ${e.label} ${e.done}/${e.total}\n`);
          return;
        case 'device-lost':
          newline();
          err.write(`GPU device lost (${e.reason}): ${e.message}\n`);
          return;
        case 'crash':
          newline();
          err.write(`the worker crashed: ${e.message}\n`);
          return;
        default:
          return;
      }
    },
    end: newline,
  };
}

/** Rejects after `s` seconds (never when s is 0). @param {number} s */
function deadline(s) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const p = new Promise((_, reject) => {
    if (s > 0) timer = setTimeout(() => reject(new Exit(EXIT_FAILURE, `timed out after ${s} s`)), s * 1000);
  });
  return { promise: /** @type {Promise<never>} */ (p), clear: () => clearTimeout(timer) };
}

/** @param {string} packId @param {{ packs: CliPackInfo[], defaultPack: string }} list */
function pickPack(packId, list) {
  const p = list.packs.find((x) => x.id === packId);
  if (!p) throw new Exit(EXIT_USAGE, `--pack ${packId}: no such pack (this build has ${list.packs.map((x) => x.id).join(', ')})`);
  if (p.manifestError) throw new Exit(EXIT_FAILURE, `pack ${packId}: ${p.manifestError}`);
  return p;
}

/**
 * Checks settings against the pack's limits before any run starts (the pipelines check again).
 * @param {Settings} s @param {CliPackInfo} pack @param {string} where
 */
function checkLimits(s, pack, where) {
  const l = pack.limits;
  if (!l) return;
  for (const [k, v] of /** @type {const} */ ([['width', s.width], ['height', s.height]])) {
    if (v !== undefined && (v < l.min_size || v > l.max_size || v % l.size_multiple !== 0)) {
      throw new UsageError(`${where}${k} must be a multiple of ${l.size_multiple} from ${l.min_size} to ${l.max_size} for pack ${pack.id}, got ${v}`);
    }
  }
  if (s.steps !== undefined && s.steps > l.max_steps) throw new UsageError(`${where}steps must be at most ${l.max_steps} for pack ${pack.id}, got ${s.steps}`);
}

/** The request fields shared by Imagine and Edit. @param {Settings} s @param {string} runId @param {string} pack */
function paintRequest(s, runId, pack) {
  const cot = s.cot;
  /** @type {Record<string, unknown>} */
  const r = { runId, pack, previewEvery: 0 };
  if (cot !== undefined) r.cot = cot;
  if (s.system !== undefined) r.prompts = promptsFor(s);
  for (const k of /** @type {const} */ (['seed', 'steps', 'guidance', 'width', 'height', 'maxNewTokens', 'weights', 'strength'])) {
    if (s[k] !== undefined) r[k] = s[k];
  }
  return r;
}

/** --system replaces the system prompt of the chosen mode (CoT or plain). @param {Settings} s */
function promptsFor(s) {
  if (s.system === undefined) return undefined;
  // With CoT off the plain prompt is replaced; the unconditional (negative) branch uses the plain prompt too.
  return s.cot === false ? { systemPlain: s.system } : { systemCot: s.system, ...(s.cot === undefined ? { systemPlain: s.system } : {}) };
}

/** The record written as result.json for Imagine / Edit. */
function paintRecord(/** @type {Record<string, unknown>} */ inputs, /** @type {CliImagineResult} */ r, /** @type {CliPackInfo} */ pack, /** @type {Record<string, unknown>} */ device) {
  return {
    format: 'rg-cli-result',
    version: 1,
    mode: inputs.mode,
    ...inputs,
    settings: r.settings,
    reasoning: r.reasoning,
    answer: r.answer,
    formatMatched: r.formatOk,
    text: r.text,
    stopReason: r.stopReason,
    timings: r.timings,
    pack: { id: r.pack, manifestSha256: pack.manifestSha256 },
    backend: r.backend,
    engine: r.engine,
    width: r.width,
    height: r.height,
    conditionRows: r.conditionRows,
    negativeRows: r.negativeRows,
    device,
    image: 'image.png',
    createdAt: new Date().toISOString(),
  };
}

/** @param {App} app */
async function deviceInfo(app) {
  const d = await app.call('device');
  return {
    backend: d.backend,
    adapter: d.gpu.available ? `${d.gpu.vendor} ${d.gpu.architecture} ${d.gpu.description}`.trim() : null,
    fallbackReason: d.fallbackReason ?? null,
    ortVersion: d.ortVersion,
  };
}

/** An --eval prompt list: one prompt per line, or a JSON object with "prompt"; blank lines and # comments skipped. */
export function parsePromptList(/** @type {string} */ textIn, /** @type {string} */ file) {
  /** @type {string[]} */
  const out = [];
  textIn.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    if (t.startsWith('{')) {
      let o;
      try {
        o = JSON.parse(t);
      } catch (e) {
        throw new UsageError(`${file}:${i + 1}: not valid JSON (${/** @type {Error} */ (e).message})`);
      }
      if (typeof o?.prompt !== 'string' || !o.prompt.trim()) throw new UsageError(`${file}:${i + 1}: "prompt" must be non-empty text`);
      out.push(o.prompt);
    } else out.push(t);
  });
  if (out.length === 0) throw new UsageError(`${file}: no prompts`);
  return out;
}

/** Mean of the numbers, null when any is null (a reward unavailable somewhere) or there are none. @param {(number|null)[]} xs */
const meanOrNull = (xs) => (xs.length && xs.every((x) => x !== null) ? /** @type {number[]} */ (xs).reduce((a, b) => a + b, 0) / xs.length : null);

/**
 * rg rgpo: one group per prompt (the view's numbers: rewards, totals, population-std advantages, best-of-G), each
 * written as NNN/rollout-K.png + NNN/result.json (a single --prompt writes straight into --out); with --eval, the
 * single-sample mean (the group mean, averaged over prompts) against the best-of-G mean for every reward.
 * @param {Extract<Command, { command: 'rgpo' }>} cmd @param {string[]} prompts
 * @param {{ a: App, run: <T>(f: (runId: string) => Promise<T>) => Promise<T>, st: Staging, p: ReturnType<typeof progressPrinter>, pack: CliPackInfo, device: Record<string, unknown>, out: string }} ctx
 */
async function rgpoCommand(cmd, prompts, { a, run, st, p, pack, device, out }) {
  const base = { ...paintRequest(cmd.settings, '', pack.id), group: cmd.group, temperature: cmd.temperature, topP: cmd.topP };
  const single = cmd.eval === undefined;
  /** @type {Record<string, unknown>[]} */
  const groups = [];
  for (const [k, prompt] of prompts.entries()) {
    const dir = single ? '' : `${String(k + 1).padStart(3, '0')}/`;
    if (!single) p.log(`== ${k + 1}/${prompts.length}: ${prompt}`);
    const r = /** @type {import('./page.ts').CliRgpoResult} */ (await run((runId) => a.call('rgpo', /** @type {any} */ ({ ...base, runId, prompt }))));
    const names = r.rewards.map((w) => w.name);
    p.log(`rollout  seed        ${names.map((n) => n.padEnd(10)).join(' ')} total      advantage`);
    for (const x of r.rollouts) {
      const cells = names.map((n) => (x.rewards[n] === null ? 'off' : String(x.rewards[n]?.toFixed(4))).padEnd(10));
      p.log(`${String(x.index + 1).padEnd(8)} ${String(x.seed).padEnd(11)} ${cells.join(' ')} ${x.total.toFixed(4).padEnd(10)} ${x.advantage.toFixed(4)}${x.index === r.stats.best ? '  ← best' : ''}`);
    }
    p.log(`mean ${r.stats.mean.toFixed(4)}, std (${r.stats.stdKind}) ${r.stats.std.toFixed(4)}, best rollout ${r.stats.best + 1}`);
    for (const x of r.rollouts) st.write(`${dir}rollout-${x.index + 1}.png`, Buffer.from(x.pngBase64, 'base64'));
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
      pack: { id: r.pack, manifestSha256: pack.manifestSha256 },
      backend: r.backend,
      engine: r.engine,
      device,
      totalMs: r.totalMs,
      createdAt: new Date().toISOString(),
    };
    st.write(`${dir}result.json`, JSON.stringify(record, null, 2) + '\n');
    groups.push({ prompt, dir: dir || '.', mean: r.stats.mean, std: r.stats.std, best: r.stats.best, totals: r.stats.totals, advantages: r.stats.advantages, perReward: r.perReward, rewards: r.rewards });
  }
  if (single) {
    const g = groups[0];
    return { out, prompt: g.prompt, group: cmd.group, mean: g.mean, std: g.std, best: g.best, totals: g.totals, advantages: g.advantages };
  }
  // Single-sample vs best-of-G, per reward and for the total.
  const rewardInfos = /** @type {{ name: string, available: boolean }[]} */ (groups[0].rewards);
  /** @type {Record<string, { singleSampleMean: number | null, bestOfGMean: number | null }>} */
  const evalTable = {};
  for (const w of rewardInfos) {
    const per = groups.map((g) => /** @type {Record<string, { mean: number | null, best: number | null }>} */ (g.perReward)[w.name]);
    evalTable[w.name] = { singleSampleMean: meanOrNull(per.map((x) => x?.mean ?? null)), bestOfGMean: meanOrNull(per.map((x) => x?.best ?? null)) };
  }
  evalTable.total = {
    singleSampleMean: meanOrNull(groups.map((g) => /** @type {number} */ (g.mean))),
    bestOfGMean: meanOrNull(groups.map((g) => /** @type {number[]} */ (g.totals)[/** @type {number} */ (g.best)] ?? null)),
  };
  p.log(`evaluation over ${groups.length} prompts, G = ${cmd.group}:`);
  for (const [name, v] of Object.entries(evalTable)) {
    const f = (/** @type {number | null} */ x) => (x === null ? 'unavailable' : x.toFixed(4));
    p.log(`  ${name.padEnd(11)} single-sample mean ${f(v.singleSampleMean)}   best-of-${cmd.group} mean ${f(v.bestOfGMean)}`);
  }
  const summary = { format: 'rg-cli-rgpo-eval', version: 1, file: cmd.eval, group: cmd.group, temperature: cmd.temperature, topP: cmd.topP, pack: { id: pack.id, manifestSha256: pack.manifestSha256 }, device, eval: evalTable, groups, createdAt: new Date().toISOString() };
  st.write('summary.json', JSON.stringify(summary, null, 2) + '\n');
  return { out, prompts: groups.length, group: cmd.group, eval: evalTable, summary: `${out}/summary.json` };
}

let runCounter = 0;
const newRunId = () => `cli-${process.pid}-${++runCounter}`;

/**
 * Runs one command line. Returns the exit status; never calls process.exit (bin/rg.mjs does).
 * @param {string[]} argv the arguments after `rg`
 * @param {Io} [io]
 */
export async function main(argv, io = { out: process.stdout, err: process.stderr }) {
  /** @type {Command} */
  let cmd;
  try {
    cmd = parseCommandLine(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err.write(`rg: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  if (cmd.command === 'help') {
    io.out.write(usage(cmd.topic) + '\n');
    return EXIT_OK;
  }
  if (cmd.command === 'bench') {
    const { runBench } = await import('./bench_run.mjs');
    return runBench({ filter: cmd.filter, json: cmd.json, reps: cmd.reps, timeout: cmd.timeout });
  }

  const p = progressPrinter(io.err);
  /** @type {Staging | null} */
  let staging = null;
  /** @type {App | null} */
  let app = null;
  /** @type {string | null} */
  let activeRun = null;
  let interrupted = false;
  const onSignal = (/** @type {NodeJS.Signals} */ sig) => {
    interrupted = true;
    p.log(`rg: ${sig}: stopping, nothing written`);
    staging?.discard();
    const a = app;
    const run = activeRun;
    void (async () => {
      if (a && run) await a.call('cancel', run).catch(() => undefined);
      await a?.close();
      process.exit(130);
    })();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const limit = deadline(cmd.timeoutS);
  try {
    // 1. Everything that can be checked without a browser.
    // rg eval writes a folder only when --out is given ('' = none).
    const out = cmd.command === 'eval' && cmd.out === undefined ? '' : checkOut(/** @type {string} */ (cmd.out), cmd.force);
    const image = 'image' in cmd && cmd.image !== undefined ? readImage('--image', cmd.image) : null;
    const items = cmd.command === 'compare' ? parsePromptsFile(readText('--file', cmd.file), cmd.file, cmd.settings) : null;
    const rgpoPrompts = cmd.command === 'rgpo' ? (cmd.eval !== undefined ? parsePromptList(readText('--eval', cmd.eval), cmd.eval) : [/** @type {string} */ (cmd.prompt)]) : null;

    // 2. The app in headless Chromium.
    // rg eval prints one line per prompt instead of every token and step.
    const onEvent = cmd.command === 'eval' ? (/** @type {CliEvent} */ e) => (e.type === 'crash' || e.type === 'device-lost' ? p.event(e) : undefined) : p.event;
    app = await Promise.race([openApp({ log: p.log, onEvent }), limit.promise]);
    const a = app;
    const list = await a.call('packs');
    const pack = pickPack(cmd.settings.pack ?? list.defaultPack, list);
    if (items) items.forEach((it) => checkLimits(it.settings, pack, `${cmd.command === 'compare' ? `${cmd.file}:${it.line}: ` : ''}`));
    else checkLimits(cmd.settings, pack, '--');
    const device = await deviceInfo(a);
    p.log(`pack ${pack.id} (manifest ${pack.manifestSha256?.slice(0, 12) ?? '?'}…), ${device.backend}${device.adapter ? ` on ${device.adapter}` : ''}`);

    /** @template T @param {(runId: string) => Promise<T>} f */
    const run = async (f) => {
      const id = newRunId();
      activeRun = id;
      try {
        return await Promise.race([f(id), limit.promise]);
      } finally {
        activeRun = null;
        p.end();
      }
    };

    staging = out ? new Staging(out, cmd.force) : null;
    const st = /** @type {Staging} */ (staging);
    /** @type {unknown} */
    let stdoutRecord;
    if (cmd.command === 'eval') {
      // The table (and its notes) on stdout; summary.json and the images in --out when given.
      const r = await runEval({
        pack: { id: pack.id, manifestSha256: pack.manifestSha256 },
        n: cmd.n,
        steps: cmd.steps,
        call: /** @type {any} */ (a.call),
        run,
        log: p.log,
        write: staging ? (rel, data) => st.write(rel, data) : null,
        device,
      });
      staging?.commit();
      io.out.write(`${r.table}\n\n${r.notes.join('\n')}\n`);
      if (out) p.log(`wrote ${out}`);
      return EXIT_OK;
    }
    if (cmd.command === 'generate' || cmd.command === 'edit') {
      const s = cmd.settings;
      const base = paintRequest(s, '', pack.id);
      const r = await run((runId) =>
        cmd.command === 'generate' && !image
          ? a.call('imagine', /** @type {any} */ ({ ...base, runId, prompt: cmd.prompt }))
          : a.call(
              'edit',
              /** @type {any} */ ({
                ...base,
                runId,
                instruction: cmd.command === 'generate' ? cmd.prompt : cmd.instruction,
                // generate --image: the reasoner sees the image; the painter starts from pure noise (strength 1).
                ...(cmd.command === 'generate' ? { strength: 1 } : {}),
              }),
              Buffer.from(/** @type {NonNullable<typeof image>} */ (image).bytes).toString('base64'),
              /** @type {NonNullable<typeof image>} */ (image).type,
            ),
      );
      const inputs =
        cmd.command === 'generate'
          ? { mode: 'generate', prompt: cmd.prompt, inputImage: image?.path ?? null, system: s.system ?? null }
          : { mode: 'edit', instruction: cmd.instruction, inputImage: image?.path ?? null, system: s.system ?? null };
      const record = paintRecord(inputs, r, pack, device);
      st.write('image.png', Buffer.from(r.pngBase64, 'base64'));
      st.write('result.json', JSON.stringify(record, null, 2) + '\n');
      stdoutRecord = { out, image: `${out}/image.png`, answer: r.answer, formatMatched: r.formatOk, seed: r.settings.seed, totalMs: Math.round(r.timings.totalMs) };
    } else if (cmd.command === 'rgpo') {
      stdoutRecord = await rgpoCommand(cmd, /** @type {string[]} */ (rgpoPrompts), { a, run, st, p, pack, device, out });
    } else if (cmd.command === 'understand') {
      const s = cmd.settings;
      /** @type {Record<string, unknown>} */
      const req = { pack: pack.id, prompt: cmd.question };
      if (s.cot !== undefined) req.cot = s.cot;
      if (s.system !== undefined) req.prompts = promptsFor(s);
      if (s.maxNewTokens !== undefined) req.maxNewTokens = s.maxNewTokens;
      const img = /** @type {NonNullable<typeof image>} */ (image);
      const r = await run((runId) => a.call('understand', /** @type {any} */ ({ ...req, runId }), Buffer.from(img.bytes).toString('base64'), img.type));
      const record = {
        format: 'rg-cli-result',
        version: 1,
        mode: 'understand',
        question: cmd.question,
        inputImage: img.path,
        system: s.system ?? null,
        settings: { cot: s.cot ?? pack.defaults?.cot ?? null, maxNewTokens: s.maxNewTokens ?? pack.defaults?.max_new_tokens ?? null, sampling: r.sampling },
        reasoning: r.reasoning,
        answer: r.answer,
        formatMatched: r.formatOk,
        text: r.text,
        stopReason: r.stopReason,
        promptTokens: r.promptTokens,
        generatedTokens: r.tokenIds.length,
        timings: r.timings,
        pack: { id: r.pack, manifestSha256: pack.manifestSha256 },
        backend: r.backend,
        device,
        createdAt: new Date().toISOString(),
      };
      st.write('result.json', JSON.stringify(record, null, 2) + '\n');
      stdoutRecord = { out, answer: r.answer, formatMatched: r.formatOk, totalMs: Math.round(r.timings.totalMs) };
    } else {
      // compare: one Imagine run per line, each into its own folder; a line that fails is recorded and the rest run.
      const list2 = /** @type {NonNullable<typeof items>} */ (items);
      /** @type {Record<string, unknown>[]} */
      const rows = [];
      let failures = 0;
      for (const [k, it] of list2.entries()) {
        p.log(`== ${k + 1}/${list2.length} ${it.name}: ${it.prompt}`);
        const base = paintRequest(it.settings, '', pack.id);
        try {
          const r = await run((runId) => a.call('imagine', /** @type {any} */ ({ ...base, runId, prompt: it.prompt })));
          const record = paintRecord({ mode: 'generate', prompt: it.prompt, inputImage: null, system: it.settings.system ?? null, line: it.line, name: it.name }, r, pack, device);
          st.write(`${it.name}/image.png`, Buffer.from(r.pngBase64, 'base64'));
          st.write(`${it.name}/result.json`, JSON.stringify(record, null, 2) + '\n');
          rows.push({
            line: it.line,
            name: it.name,
            prompt: it.prompt,
            cot: r.settings.cot,
            seed: r.settings.seed,
            steps: r.settings.steps,
            guidance: r.settings.guidance,
            width: r.settings.width,
            height: r.settings.height,
            formatMatched: r.formatOk,
            answer: r.answer,
            reasoning: r.reasoning,
            reasonMs: Math.round(r.timings.reasonMs),
            stepsMs: Math.round(r.timings.stepsMs),
            totalMs: Math.round(r.timings.totalMs),
            image: `${it.name}/image.png`,
            error: '',
          });
        } catch (e) {
          if (e instanceof PageError && e.code === 'BAD_INPUT') throw new UsageError(`${cmd.file}:${it.line}: ${e.message}`);
          if (e instanceof Exit || !(e instanceof PageError)) throw e;
          failures++;
          p.log(`line ${it.line} failed: ${e.message}`);
          st.write(`${it.name}/result.json`, JSON.stringify({ format: 'rg-cli-result', version: 1, mode: 'generate', prompt: it.prompt, line: it.line, name: it.name, error: { code: e.code, message: e.message } }, null, 2) + '\n');
          rows.push({ line: it.line, name: it.name, prompt: it.prompt, image: '', error: `${e.code}: ${e.message}` });
        }
      }
      const columns = ['line', 'name', 'prompt', 'cot', 'seed', 'steps', 'guidance', 'width', 'height', 'formatMatched', 'answer', 'reasonMs', 'stepsMs', 'totalMs', 'image', 'error'];
      const summary = { format: 'rg-cli-compare', version: 1, file: cmd.file, pack: { id: pack.id, manifestSha256: pack.manifestSha256 }, device, runs: rows, failures, createdAt: new Date().toISOString() };
      st.write('summary.json', JSON.stringify(summary, null, 2) + '\n');
      st.write('summary.csv', toCsv(columns, rows));
      stdoutRecord = { out, runs: rows.length, failures, summary: `${out}/summary.json` };
      if (failures > 0) {
        st.commit();
        io.out.write(JSON.stringify(stdoutRecord) + '\n');
        throw new Exit(EXIT_FAILURE, `${failures} of ${rows.length} runs failed (see ${out}/summary.json)`);
      }
    }
    st.commit();
    io.out.write(JSON.stringify(stdoutRecord) + '\n');
    p.log(`wrote ${out}`);
    return EXIT_OK;
  } catch (e) {
    p.end();
    if (interrupted) return 130;
    const bad = e instanceof UsageError || (e instanceof PageError && e.code === 'BAD_INPUT') || (e instanceof Exit && e.exitCode === EXIT_USAGE);
    const flag = e instanceof PageError && e.field ? FIELD_FLAGS[e.field] : undefined;
    const message = e instanceof Error ? e.message : String(e);
    const msg = flag ? `${flag}: ${message}` : message;
    io.err.write(`rg: ${msg}\n`);
    if (process.env.RG_VERBOSE && e instanceof Error && e.stack) io.err.write(e.stack + '\n');
    return bad ? EXIT_USAGE : e instanceof Exit ? e.exitCode : EXIT_FAILURE;
  } finally {
    limit.clear();
    staging?.discard();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await /** @type {App | null} */ (app)?.close();
  }
}
