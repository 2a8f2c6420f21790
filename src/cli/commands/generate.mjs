// @ts-check
// @file `rg generate`: prompt → reasoning → image (Imagine). With --image the reasoner sees that image too: the run
// goes through Edit with strength 1, so the painter still starts from pure noise.
import { readImage } from '../files.mjs';
import { paintLine, paintRequest, writePaint } from '../requests.mjs';
import { editRun } from './edit.mjs';

/**
 * @typedef {import('../args.mjs').GenerateCommand} GenerateCommand
 * @typedef {import('../session.mjs').Plan} Plan
 * @typedef {import('../page.ts').CliImagineResult} CliImagineResult
 */

/** @param {GenerateCommand} cmd @returns {Plan} */
export function generate(cmd) {
  const image = cmd.image !== undefined ? readImage('--image', cmd.image) : null;
  return {
    limits: [{ settings: cmd.settings, where: '--' }],
    async run(s) {
      const base = paintRequest(cmd.settings, s.pack.id);
      /** @type {CliImagineResult} */
      const r = image
        ? await editRun(s, { ...base, strength: 1 }, cmd.prompt, image)
        : await s.run((runId) => s.call('imagine', /** @type {any} */ ({ ...base, runId, prompt: cmd.prompt })));
      const system = cmd.settings.system ?? null;
      const inputs = { mode: 'generate', prompt: cmd.prompt, inputImage: image?.path ?? null, system };
      writePaint(s, '', inputs, r);
      return paintLine(s.out, r);
    },
  };
}
