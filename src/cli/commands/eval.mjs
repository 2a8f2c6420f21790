// @ts-check
// @file `rg eval`: the pack's held-out evaluation run in the browser (src/cli/eval.mjs holds the run and the
// table). The table and its notes go to stdout; summary.json and the images to --out when it is given.
import { runEval } from '../eval.mjs';
import { packRecord } from '../session.mjs';

/**
 * @typedef {import('../args.mjs').EvalCommand} EvalCommand
 * @typedef {import('../session.mjs').Plan} Plan
 */

/** @param {EvalCommand} cmd @returns {Plan} */
export function evaluate(cmd) {
  return {
    limits: [{ settings: cmd.settings, where: '--' }],
    quiet: true,
    async run(s) {
      const r = await runEval({
        pack: packRecord(s.pack),
        n: cmd.n,
        steps: cmd.steps,
        call: /** @type {any} */ (s.call),
        run: s.run,
        log: s.log,
        write: s.staging ? s.write : null,
        device: s.device,
      });
      return { stdout: `${r.table}\n\n${r.notes.join('\n')}\n` };
    },
  };
}
