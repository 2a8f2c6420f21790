// @ts-check
// @file `rg compare`: one Imagine run per line of a JSON Lines file, each into its own folder, then summary.json and
// summary.csv. A line that fails is recorded and the rest run (exit 1 at the end); a line the pipeline refuses as
// bad input stops everything (exit 2, naming the line).
import { UsageError } from '../args.mjs';
import { readText } from '../files.mjs';
import { parsePromptsFile, toCsv } from '../jsonl.mjs';
import { PageError } from '../app.mjs';
import { Exit, jsonFile, jsonLine, summaryRecord } from '../session.mjs';
import { paintRequest, writePaint } from '../requests.mjs';

/**
 * @typedef {import('../args.mjs').CompareCommand} CompareCommand
 * @typedef {import('../session.mjs').Plan} Plan
 * @typedef {import('../page.ts').CliImagineResult} CliImagineResult
 */

/** The columns of summary.csv. */
const COLUMNS = [
  'line',
  'name',
  'prompt',
  'cot',
  'cascade',
  'seed',
  'steps',
  'guidance',
  'width',
  'height',
  'formatMatched',
  'answer',
  'cascadePrompt',
  'cascadeAnswer',
  'reasonMs',
  'stepsMs',
  'totalMs',
  'image',
  'error',
];

/** @param {CompareCommand} cmd @returns {Plan} */
export function compare(cmd) {
  const items = parsePromptsFile(readText('--file', cmd.file), cmd.file, cmd.settings);
  return {
    limits: items.map((it) => ({ settings: it.settings, where: `${cmd.file}:${it.line}: ` })),
    async run(s) {
      /** @type {Record<string, unknown>[]} */
      const rows = [];
      let failures = 0;
      for (const [k, it] of items.entries()) {
        s.log(`== ${k + 1}/${items.length} ${it.name}: ${it.prompt}`);
        const base = paintRequest(it.settings, s.pack.id);
        const { prompt } = it;
        const where = { line: it.line, name: it.name };
        try {
          /** @type {CliImagineResult} */
          const r = await s.run((runId) => s.call('imagine', /** @type {any} */ ({ ...base, runId, prompt })));
          const system = it.settings.system ?? null;
          const inputs = { mode: 'generate', prompt: it.prompt, inputImage: null, system, ...where };
          writePaint(s, `${it.name}/`, inputs, r);
          const { cot, cascade, seed, steps, guidance, width, height } = r.settings;
          rows.push({
            ...where,
            prompt: it.prompt,
            cot,
            cascade,
            seed,
            steps,
            guidance,
            width,
            height,
            formatMatched: r.formatOk,
            answer: r.answer,
            reasoning: r.reasoning,
            cascadePrompt: r.cascade?.prompt ?? '',
            cascadeAnswer: r.cascade?.second?.answer ?? '',
            cascadeReasoning: r.cascade?.second?.reasoning ?? '',
            reasonMs: Math.round(r.timings.reasonMs),
            stepsMs: Math.round(r.timings.stepsMs),
            totalMs: Math.round(r.timings.totalMs),
            image: `${it.name}/image.png`,
            error: '',
          });
        } catch (e) {
          if (e instanceof PageError && e.code === 'BAD_INPUT') {
            throw new UsageError(`${cmd.file}:${it.line}: ${e.message}`);
          }
          if (e instanceof Exit || !(e instanceof PageError)) throw e;
          failures++;
          s.log(`line ${it.line} failed: ${e.message}`);
          const error = { code: e.code, message: e.message };
          const record = { format: 'rg-cli-result', version: 1, mode: 'generate', prompt: it.prompt, ...where, error };
          s.write(`${it.name}/result.json`, jsonFile(record));
          rows.push({ ...where, prompt: it.prompt, image: '', error: `${e.code}: ${e.message}` });
        }
      }
      const summary = summaryRecord('rg-cli-compare', s, { file: cmd.file }, { runs: rows, failures });
      s.write('summary.json', jsonFile(summary));
      s.write('summary.csv', toCsv(COLUMNS, rows));
      const line = jsonLine({ out: s.out, runs: rows.length, failures, summary: `${s.out}/summary.json` });
      if (failures === 0) return line;
      return { ...line, failure: `${failures} of ${rows.length} runs failed (see ${s.out}/summary.json)` };
    },
  };
}
