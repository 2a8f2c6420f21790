// @ts-check
// @file `rg`, the headless command line. Commands (one module each in src/cli/commands/, arguments in args.mjs):
//   generate    prompt → reasoning → image (Imagine); --image lets the reasoner see an image too
//   understand  image + question → reasoning and answer
//   edit        image + instruction → reasoning → edited image
//   compare     one Imagine run per line of a JSON Lines file, a folder each, summary.json + summary.csv
//   rgpo        the RGPO lab: a group of G rollouts, rewards, advantages, best-of-G (--eval: over a prompt list)
//   eval        the pack's held-out evaluation (eval/set.json) beside its PyTorch figures
//   bench       the benchmarks of `npm run bench`
//   convert     a Qwen2-family checkpoint folder → our reasoner weights (in Node, no browser)
//   help        rg --help, rg <command> --help
// Arguments and input files are checked in Node first (exit 2, nothing written); then the app is built if stale,
// served on 127.0.0.1 and driven in headless Chromium through cli.html (session.mjs, app.mjs, page.ts): the same
// worker and pipelines as the studio. Progress goes to stderr, results to stdout (a JSON line per run; rg eval: a
// table) and --out (written through a temporary folder, renamed into place only at the end). Exit: 0 done, 2 bad
// arguments or inputs, 1 a failure, 130 interrupted.
import { UsageError, parseCommandLine, usage } from './args.mjs';
import { EXIT_OK, EXIT_USAGE, runInApp } from './session.mjs';
import { bench } from './commands/bench.mjs';
import { compare } from './commands/compare.mjs';
import { convert } from './commands/convert.mjs';
import { edit } from './commands/edit.mjs';
import { evaluate } from './commands/eval.mjs';
import { generate } from './commands/generate.mjs';
import { rgpo } from './commands/rgpo.mjs';
import { understand } from './commands/understand.mjs';

export { parsePromptList } from './commands/rgpo.mjs';

/**
 * @typedef {import('./args.mjs').Command} Command
 * @typedef {import('./session.mjs').AppCommand} AppCommand
 * @typedef {import('./session.mjs').Io} Io
 * @typedef {import('./session.mjs').Plan} Plan
 */

/**
 * The commands that open the app: each checks its inputs in Node and returns the plan session.mjs runs.
 * @type {{ [K in AppCommand['command']]: (cmd: Extract<AppCommand, { command: K }>) => Plan }}
 */
export const APP_COMMANDS = { generate, understand, edit, compare, rgpo, eval: evaluate };

/**
 * Runs one command line. Returns the exit status; never calls process.exit (bin/rg.mjs sets it).
 * @param {string[]} argv the arguments after `rg`
 * @param {Io} [io]
 */
export async function main(argv, io = { out: process.stdout, err: process.stderr }) {
  /** @type {Command} */
  let cmd;
  try {
    cmd = parseCommandLine(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err.write(`rg: ${e.message}\n`);
    return EXIT_USAGE;
  }
  if (cmd.command === 'help') {
    io.out.write(usage(cmd.topic) + '\n');
    return EXIT_OK;
  }
  if (cmd.command === 'bench') return bench(cmd);
  if (cmd.command === 'convert') return convert(cmd, io);
  const plan = /** @type {(cmd: AppCommand) => Plan} */ (APP_COMMANDS[cmd.command]);
  return runInApp(cmd, plan, io);
}
